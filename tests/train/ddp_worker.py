"""One rank of tests/train/test_distributed.py: train through the engine and dump what this rank saw.

Run by torchrun: python -m torch.distributed.run --nproc_per_node 2 ddp_worker.py DATA RUN OUT
Each rank writes OUT/rank<r>.json: a hash of its final weights and the batch positions it trained on.
"""

import hashlib
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist


def state_hash(state_dict: dict) -> str:
    digest = hashlib.sha256()
    for name, tensor in state_dict.items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def main(data: str, run_dir: str, out: str) -> None:
    from classmill.train import resolve_config
    from classmill.train.engine import Engine
    from classmill.train.prepare import load_prepared, prepare_data
    from classmill.train.run_dir import RunDirectory

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    config = resolve_config("balanced", data=data, image_size=32, batch_size=7, epochs=2, workers=1,
                            warmup_epochs=0.0, ema=True)
    if rank == 1:
        # Stands in for the measured nondeterminism of two independent probe fits (a few ulps):
        # a rank that fitted its own head would start fine-tuning from a different one.
        config.head_lr *= 3
    run = RunDirectory(Path(run_dir))
    if rank == 0:
        run.root.mkdir(parents=True, exist_ok=True)
        prepare_data(config, run)
        config.save(run.config)
    dist.barrier()
    engine = Engine(config, run, load_prepared(run))
    steps = []
    engine.add_hook("on_train_batch_end", lambda e, event: steps.append([event["epoch"], event["step"],
                                                                          list(e.batch_positions)]))

    def dump(e, event):
        record = {"rank": rank, "model": state_hash(e.model.state_dict()), "ema": state_hash(e.ema.module.state_dict()),
                  "steps": steps, "train_images": len(e.train_records), "batch_size": config.batch_size}
        Path(out, f"rank{rank}.json").write_text(json.dumps(record))

    engine.add_hook("on_train_end", dump)
    result = engine.fit()
    assert result.status == "finished", result
    dist.destroy_process_group()


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(*sys.argv[1:4])
