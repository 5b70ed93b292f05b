"""torchrun with 2 CPU processes (gloo): the same CLI, one run folder, written by rank 0 only."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from classmill.train import load_trained_model

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:  # torchrun's --master_port 0 hangs: pick a free port ourselves
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("loader", ["threads", "processes"])  # processes: each rank with its own workers
def test_torchrun_two_cpu_processes(tiny_csv, tmp_path, loader):
    run = tmp_path / "ddp"
    port = _free_port()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(port),
           "-m", "classmill", "train", str(tiny_csv), "--out", str(run), "--json", "--epochs", "2",
           "--batch-size", "7", "--image-size", "32", "--workers", "1", "--loader", loader]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"type": "result"')]
    assert [r["status"] for r in results] == ["finished"]  # rank 0 reports for the job
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    start = next(e for e in events if e["type"] == "start")
    assert start["world_size"] == 2 and start["loader"] == loader
    # One writer: exactly one epoch event per epoch, not one per rank.
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2]
    trained = load_trained_model(run)
    assert trained.classes == ["airplane", "automobile", "bird"]
    # Rank 0 calibrates while the other waits at the last barrier; the result carries it.
    assert results[0]["calibration"] == json.loads((run / "calibration.json").read_text()) == trained.calibration


def test_ranks_end_with_equal_weights_after_training_on_disjoint_shards(tiny_csv, tmp_path):
    from ddp_worker import state_hash

    from classmill.train.checkpoint import load_checkpoint

    run, out = tmp_path / "ddp", tmp_path / "dumps"
    out.mkdir()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), str(Path(__file__).with_name("ddp_worker.py")), str(tiny_csv),
           str(run), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0, rank1 = (json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1))
    # The probe head is fitted on rank 0 and broadcast, so both ranks fine-tune (and average) the same model.
    assert rank0["model"] == rank1["model"] and rank0["ema"] == rank1["ema"]
    assert rank0["model"] == state_hash(load_checkpoint(run / "checkpoints" / "last.pt")["model"])
    # Within every step the two ranks train on disjoint parts that together cover the batch.
    n, batch = rank0["train_images"], rank0["batch_size"]
    assert [s[:2] for s in rank0["steps"]] == [s[:2] for s in rank1["steps"]] and len(rank0["steps"]) == 2 * -(-n // batch)
    for (epoch, step, mine), (_, _, theirs) in zip(rank0["steps"], rank1["steps"]):
        assert not set(mine) & set(theirs), (epoch, step)
        assert sorted(mine + theirs) == list(range((step - 1) * batch, min(step * batch, n))), (epoch, step)
