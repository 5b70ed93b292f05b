"""python -m bench.calibration_split collect SEED FOLDER | analyse FOLDER: where over-confidence on cifar10-mini comes from.

The temperature is fitted on the val split, which also picked the checkpoint. `collect` trains the
balanced preset on cifar10-mini with the quality benchmark's split for SEED and keeps every
candidate checkpoint's val and test logits (FOLDER/seed<SEED>.npz); the engine's own pick and
temperature reproduce the quality cells exactly. `analyse` then compares, over all seeds pooled:
the pick and the temperature on all of val (what classmill does), the pick on one stratified half
of val and the temperature on the other, the temperature alone on that other half, and no
temperature: test top-1, mean confidence and pooled ECE with its calibrated floor.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.epoch_scores import split_logits
from bench.held_out import ECE_BINS, calibrated_ece
from bench.plan import SHARED_DATASETS, full_plan
from bench.quality import classmill_overrides



def collect(seed: int, folder: Path) -> None:
    from classmill.train import engine as engine_module, resolve_config, train

    stores: dict = {}
    kept: dict = {"epochs": [], "val": [], "test": []}

    record_best = engine_module.Engine._record_best

    def keeping_record_best(engine, metrics, model):
        kept["epochs"].append(engine.epoch)
        kept["val"].append(split_logits(engine, model, "val", stores)[0])
        kept["test"].append(split_logits(engine, model, "test", stores)[0])
        return record_best(engine, metrics, model)

    engine_module.Engine._record_best = keeping_record_best
    plan = full_plan()
    config = resolve_config("balanced", data=str(SHARED_DATASETS / "cifar10-mini"), val=plan.quality_val,
                            test=plan.quality_test, seed=seed, **classmill_overrides(plan, "balanced"))
    with tempfile.TemporaryDirectory(prefix="classmill-calibration-split-") as work:
        result = train(config, Path(work) / "run")
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / f"seed{seed}.npz", epochs=np.array(kept["epochs"]), val=np.stack(kept["val"]),
             test=np.stack(kept["test"]), val_y=stores["val"][1], test_y=stores["test"][1], best=result.best_epoch)
    print(f"seed {seed}: best epoch {result.best_epoch}", flush=True)


def _pick(val_logits: np.ndarray, labels: np.ndarray, images: np.ndarray) -> int:
    """The candidate the engine would keep, judged on the given val images only (its own rule, `beats`)."""
    from classmill.train.validation import beats

    best: dict = {}
    at = 0
    for i, z in enumerate(val_logits):
        metrics = {"top1": float((z[images].argmax(1) == labels[images]).mean())}
        if beats(metrics, best, "top1"):
            best, at = metrics, i
    return at


def _halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two stratified halves of the val images."""
    rng = np.random.default_rng(seed)
    first = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        first[members[: len(members) // 2]] = True
    return np.flatnonzero(first), np.flatnonzero(~first)


def analyse(folder: Path) -> None:
    from classmill.evaluate.calibration import expected_calibration_error
    from classmill.evaluate.temperature import fit_temperature
    from classmill.infer.calibration import softmax

    ways: dict[str, dict] = {}
    for path in sorted(folder.glob("seed*.npz")):
        run = np.load(path)
        seed = int(path.stem[len("seed"):])
        val, test, val_y, test_y = run["val"], run["test"], run["val_y"], run["test_y"]
        every = np.arange(len(val_y))
        half_a, half_b = _halves(val_y, seed)
        picked = _pick(val, val_y, every)
        assert picked == list(run["epochs"]).index(int(run["best"])), f"{path}: the pick is not the engine's"
        for name, (i, fit_on) in {
            "pick and T on all of val (classmill now)": (picked, every),
            "pick on half A, T on half B": (_pick(val, val_y, half_a), half_b),
            "pick on all of val, T on half B": (picked, half_b),
            "pick on all of val, no T": (picked, None),
        }.items():
            t = 1.0 if fit_on is None else fit_temperature(val[i][fit_on], val_y[fit_on]).temperature
            p = softmax(test[i] / t)
            way = ways.setdefault(name, {"confidence": [], "correct": [], "seeds": []})
            way["confidence"].append(p.max(1))
            way["correct"].append(p.argmax(1) == test_y)
            way["seeds"].append(seed)
    print("| way | seeds | test top-1 | mean confidence | pooled ECE (if calibrated) |\n|---|---|---|---|---|")
    for name, way in ways.items():
        confidence, correct = np.concatenate(way["confidence"]), np.concatenate(way["correct"])
        ece = expected_calibration_error(confidence, correct, ECE_BINS).ece
        print(f"| {name} | {len(way['seeds'])} | {correct.mean():.3f} | {confidence.mean():.3f} | "
              f"{ece:.3f} ({calibrated_ece(confidence):.3f}) |")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "collect":
        collect(int(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "analyse":
        analyse(Path(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
