"""python -m bench.epoch_scores SET SEED PRESET ['{"option": value}'] [TAG]: every epoch on held-out data.

The quality benchmark scores only the checkpoint a run selected. Finding why a fine-tune hurts
needs more: the held-out top-1 of the probed head ("epoch 0") and of every fine-tune epoch, beside
its validation top-1, for one preset with option overrides. This trains
`resolve_config(PRESET, data=SET, seed=SEED, ...)` with the quality benchmark's val/test fractions
and its classmill peers' options, then the overrides (so the same split as its cells), and each
time the engine weighs a candidate checkpoint (Engine._record_best: the probe, then every epoch)
also runs that model over the run's test part, which nothing selects on. Appends one JSON line per run to bench/results/quality/epoch_scores.jsonl.

The wall time includes the test scoring of every epoch (a few seconds): use the quality benchmark
for times. Example, the variants behind the balanced preset's learning rate:
    python -m bench.epoch_scores casting 0 balanced '{"lr": 2e-4}' lr2e-4
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from bench.machine import git_revision
from bench.plan import REPO_ROOT, SHARED_DATASETS, full_plan
from bench.quality import classmill_overrides

RESULTS = REPO_ROOT / "bench" / "results" / "quality" / "epoch_scores.jsonl"


def split_logits(engine, model, split: str, stores: dict):
    """(logits, labels) of `model` on the run's `split` images ("val", "test"); each split is decoded
    once, into `stores`, and the model is left in the mode it was in."""
    import numpy as np

    from classmill.train.image_cache import decoded_bytes
    from classmill.train.pipeline import ImageStore, decode_for_eval
    from classmill.train.predict import store_logits

    if split not in stores:
        records = engine.dataset.in_split(split)
        index = engine.dataset.label_index()
        stores[split] = (ImageStore(records, partial(decode_for_eval, spec=engine.spec), pool=engine.pool,
                                    cache=range(len(records)),
                                    cache_bytes=sum(decoded_bytes(r, engine.spec, training=False) for r in records)),
                         np.array([index[r.label] for r in records]))
    store, labels = stores[split]
    was_training = model.training
    model.eval()
    logits = store_logits(model, store, engine.spec, len(engine.classes), 64, engine.device)
    model.train(was_training)
    return logits, labels


def watch_candidates(callback) -> None:
    """From now on in this process, call callback(engine, metrics, model) each time the engine weighs a
    candidate checkpoint (Engine._record_best: the probe, then every epoch), before it does."""
    from classmill.train import engine as engine_module

    record_best = engine_module.Engine._record_best

    def watched_record_best(engine, metrics, model):
        callback(engine, metrics, model)
        return record_best(engine, metrics, model)

    engine_module.Engine._record_best = watched_record_best


def quality_config(name: str, seed: int, preset: str, overrides: dict | None = None):
    """The config of the quality benchmark's `preset` cell on set `name`, repeat `seed` (its split and
    its classmill peers' options), then `overrides`."""
    from classmill.train import resolve_config

    plan = full_plan()
    return resolve_config(preset, data=str(SHARED_DATASETS / name), val=plan.quality_val, test=plan.quality_test,
                          seed=seed, **{**classmill_overrides(plan, preset), **(overrides or {})})


def main(argv: list[str]) -> int:
    from classmill.train import train
    from classmill.train.config import TrainConfig

    name, seed, preset = argv[0], int(argv[1]), argv[2]
    overrides = json.loads(argv[3]) if len(argv) > 3 else {}
    tag = argv[4] if len(argv) > 4 else "default"
    scores: list[dict] = []
    stores: dict = {}

    def test_top1(engine, model) -> float:
        logits, labels = split_logits(engine, model, "test", stores)
        return float((logits.argmax(1) == labels).mean())

    def score(engine, metrics, model) -> None:
        scores.append({"epoch": engine.epoch, "val_top1": round(metrics["top1"], 4), "val_loss": round(metrics["loss"], 4),
                       "test_top1": round(test_top1(engine, model), 4),
                       "elapsed_s": round(time.perf_counter() - engine.started, 1)})
        print(scores[-1], flush=True)

    watch_candidates(score)
    config = quality_config(name, seed, preset, overrides)
    revision = git_revision()  # before training: the code the run starts with
    with tempfile.TemporaryDirectory(prefix="classmill-epoch-scores-") as work:
        started = time.perf_counter()
        result = train(config, Path(work) / "run")
        wall = time.perf_counter() - started
        used = TrainConfig.load(Path(work) / "run" / "config.yaml")  # with what was decided from the data
    selected = next(s for s in scores if s["epoch"] == result.best_epoch)
    line = {"set": name, "seed": seed, "preset": preset, "tag": tag, "overrides": overrides,
            "image_size": used.image_size,
            # Presets move as classmill develops: the line keeps what its run actually used.
            "git_revision": revision,
            "config": {k: v for k, v in used.to_dict().items() if k not in ("data", "schedule")},
            "wall_s_with_scoring": round(wall, 1), "best_epoch": result.best_epoch,
            "selected_test_top1": selected["test_top1"], "epochs": scores,
            "date": time.strftime("%Y-%m-%d")}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
