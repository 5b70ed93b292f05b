"""python -m bench.probe_features [--images N] [--repeats R]: the probe's feature pass, path against path.

The probe (train/head_warmup.pooled_features) runs the frozen backbone once over every training
image; on a large dataset it is most of the `fast` preset's time. Compared, interleaved round by
round so a busy neighbour slows each path alike: autograd off by no_grad vs inference_mode, NCHW
vs channels_last, float32 vs bfloat16 autocast (this CPU's AVX-512 BF16 / AMX decide whether bf16
pays). "Agreement": the pretrained ImageNet head's top-1 on the path's features equals float32's.
"Probe": what the features are for — a head fitted (train/head_warmup.fit_head, the fast preset's
steps) on each path's features of half of cifar10-mini, scored on the other half.
Writes bench/results/probe_features.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext
from pathlib import Path

from bench.machine import describe_machine
from bench.plan import REPO_ROOT, SHARED_DATASETS
from bench.stats import median

PATHS = {
    "no_grad, NCHW, float32": dict(inference=False, channels_last=False, bf16=False),
    "no_grad, channels_last, float32 (before)": dict(inference=False, channels_last=True, bf16=False),
    "inference_mode, channels_last, float32": dict(inference=True, channels_last=True, bf16=False),
    "inference_mode, channels_last, bfloat16": dict(inference=True, channels_last=True, bf16=True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe_features", description=__doc__)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    args = parser.parse_args(argv)

    import torch

    from classmill.data import check
    from classmill.models import create_model
    from classmill.train.engine import run_preprocess
    from classmill.train.config import resolve_config
    from classmill.train.pipeline import decode_for_eval, normalize_batch

    config = resolve_config("fast", image_size=args.size)
    spec = run_preprocess(config)
    records = check(SHARED_DATASETS / "imagenette-mini").dataset.records[:args.images]
    batches = [normalize_batch(torch.stack([decode_for_eval(r, spec) for r in records[i:i + 32]]), spec)
               for i in range(0, len(records), 32)]
    base = create_model(config.model, num_classes=1000).eval()  # the pretrained ImageNet head, kept
    models = {False: base, True: create_model(config.model, num_classes=1000).eval()}
    models[True].load_state_dict(base.state_dict())
    models[True].to(memory_format=torch.channels_last)

    def run(path: dict) -> tuple[float, torch.Tensor]:
        model = models[path["channels_last"]]
        started = time.perf_counter()
        feats = []
        with (torch.inference_mode() if path["inference"] else torch.no_grad()):
            with torch.autocast("cpu", dtype=torch.bfloat16) if path["bf16"] else nullcontext():
                for x in batches:
                    x = x.contiguous(memory_format=torch.channels_last) if path["channels_last"] else x
                    feats.append(model.forward_head(model.forward_features(x), pre_logits=True).float())
        seconds = time.perf_counter() - started
        with torch.no_grad():
            top1 = base.get_classifier()(torch.cat(feats).clone()).argmax(1)
        return seconds, top1

    times: dict[str, list[float]] = {name: [] for name in PATHS}
    answers: dict[str, torch.Tensor] = {}
    for name, path in PATHS.items():  # warm-up: oneDNN picks and caches its kernels on first use
        answers[name] = run(path)[1]
    for _ in range(args.repeats):
        for name, path in PATHS.items():
            times[name].append(run(path)[0])
    reference = answers["no_grad, NCHW, float32"]
    probe = _probe_accuracy(args.size, {name: PATHS[name] for name in PATHS if "NCHW" in name or "bfloat16" in name},
                            models, config)
    rows = []
    for name in PATHS:
        seconds = median(times[name])
        rows.append({"path": name, "median_s": round(seconds, 3), "images_per_s": round(len(records) / seconds, 1),
                     "runs_s": [round(t, 3) for t in times[name]],
                     "top1_agreement": round(float((answers[name] == reference).float().mean()), 4),
                     "probe_val_top1": probe.get(name)})
    before = next(r for r in rows if "(before)" in r["path"])
    for row in rows:
        row["speedup_vs_before"] = round(before["median_s"] / row["median_s"], 2)
    result = {"command": "python -m bench.probe_features", "images": len(records), "image_size": args.size,
              "repeats": args.repeats, "torch_threads": torch.get_num_threads(), "machine": describe_machine(),
              "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "probe_features.json").write_text(json.dumps(result, indent=2))
    print(f"{len(records)} imagenette-mini images at {args.size} px, efficientnet_lite0, median of {args.repeats}")
    for row in rows:
        print(f"  {row['path']:45s} {row['images_per_s']:7.1f} img/s  x{row['speedup_vs_before']:.2f}  "
              f"top-1 agreement {row['top1_agreement']:.4f}  probe val top-1 {row['probe_val_top1']}")
    return 0


def _probe_accuracy(size: int, paths: dict, models: dict, config) -> dict[str, float]:
    """{path: validation top-1 of a probe head fitted on that path's features} on cifar10-mini (even/odd files)."""
    import torch

    from classmill.data import check
    from classmill.train.engine import run_preprocess
    from classmill.train.head_warmup import fit_head
    from classmill.train.losses import Criterion
    from classmill.train.pipeline import decode_for_eval, normalize_batch

    spec = run_preprocess(config)
    dataset = check(SHARED_DATASETS / "cifar10-mini").dataset
    records, classes = dataset.records, dataset.classes
    labels = torch.tensor([classes.index(r.label) for r in records])
    images = torch.stack([decode_for_eval(r, spec) for r in records])
    train, val = torch.arange(0, len(records), 2), torch.arange(1, len(records), 2)
    scores = {}
    for name, path in paths.items():
        model = models[path["channels_last"]]
        feats = []
        with torch.inference_mode(), (torch.autocast("cpu", dtype=torch.bfloat16) if path["bf16"] else nullcontext()):
            for lo in range(0, len(records), 64):
                x = normalize_batch(images[lo:lo + 64], spec)
                x = x.contiguous(memory_format=torch.channels_last) if path["channels_last"] else x
                feats.append(model.forward_head(model.forward_features(x), pre_logits=True).float())
        feats = torch.cat(feats).clone()  # out of inference mode: the head trains on them
        head = torch.nn.Linear(feats.shape[1], len(classes))
        criterion = Criterion("ce", len(classes), config.label_smoothing, None, 0.0)
        fit_head(head, feats[train], labels[train], criterion, steps=config.head_warmup_steps, lr=config.head_lr,
                 weight_decay=config.weight_decay, seed=0)
        with torch.no_grad():
            scores[name] = round(float((head(feats[val]).argmax(1) == labels[val]).float().mean()), 4)
    return scores


if __name__ == "__main__":
    raise SystemExit(main())
