"""python -m bench.calibration_split collect SEED FOLDER [SET] | analyse FOLDER: how well a val-fitted temperature can do.

classmill fits the temperature on the val split, which also picked the checkpoint. `collect`
trains the balanced preset on SET (cifar10-mini unless given) with the quality benchmark's split
for SEED and keeps every candidate checkpoint's val and test logits (FOLDER/seed<SEED>.npz); the
engine's pick and temperature reproduce the quality cells exactly. `analyse` then compares, over
all seeds pooled, other ways to fit it on the same runs: the pick and the temperature on all of
val (classmill), the pick on one stratified half of val and the temperature on the other, the
temperature alone on that other half, the temperature cross-fitted on the halves (each half's
pick's logits on the other half, pooled: every val image scored by a checkpoint picked without
it), no temperature, and the temperature fitted on the test split itself (the best a temperature
can do). Reported: test top-1, mean confidence and pooled ECE with its calibrated floor; then how
far classmill's pooled ECE moves with the val images alone (val resampled, T refitted).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.epoch_scores import quality_config, split_logits, watch_candidates
from bench.held_out import ECE_BINS, calibrated_ece


def collect(seed: int, folder: Path, dataset: str = "cifar10-mini") -> None:
    from classmill.train import train

    stores: dict = {}
    kept: dict = {"epochs": [], "val": [], "test": []}

    def keep(engine, metrics, model) -> None:
        kept["epochs"].append(engine.epoch)
        kept["val"].append(split_logits(engine, model, "val", stores)[0])
        kept["test"].append(split_logits(engine, model, "test", stores)[0])

    watch_candidates(keep)
    config = quality_config(dataset, seed, "balanced")
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
    """Two halves of the val images, each class split as evenly as it goes, shuffled by `seed`."""
    rng = np.random.default_rng(seed)
    first = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        first[members[: len(members) // 2]] = True
    return np.flatnonzero(first), np.flatnonzero(~first)


# Each half-based way is read over this many random pairs of halves: one pair moved the pooled ECE
# by up to 0.015 (casting: 0.009 with one pair, 0.026 with another), more than the ways differ.
HALF_DRAWS = 20
VAL_RESAMPLES = 200


def _temperatures(run, picked: int, half_a: np.ndarray, half_b: np.ndarray) -> dict[str, tuple[int, float]]:
    """Each way's (checkpoint, temperature) for one repeat whose pick on all of val is `picked`: the
    candidate it ships and the T it fits."""
    from classmill.evaluate.temperature import fit_temperature

    val, test, val_y, test_y = run["val"], run["test"], run["val_y"], run["test_y"]
    pick_a, pick_b = _pick(val, val_y, half_a), _pick(val, val_y, half_b)
    crossed = (np.concatenate([val[pick_a][half_b], val[pick_b][half_a]]),
               np.concatenate([val_y[half_b], val_y[half_a]]))
    fits = {
        "pick and T on all of val (classmill)": (picked, (val[picked], val_y)),
        "pick on half A, T on half B": (pick_a, (val[pick_a][half_b], val_y[half_b])),
        "pick on all of val, T on half B": (picked, (val[picked][half_b], val_y[half_b])),
        "pick on all of val, T cross-fitted on the halves": (picked, crossed),
        "pick on all of val, no T": (picked, None),
        "pick on all of val, T fitted on test itself (the best a temperature can do)": (picked, (test[picked], test_y)),
    }
    return {name: (i, 1.0 if fit_on is None else fit_temperature(*fit_on).temperature)
            for name, (i, fit_on) in fits.items()}


def analyse(folder: Path) -> None:
    from classmill.evaluate.calibration import expected_calibration_error
    from classmill.infer.calibration import softmax

    runs = {int(path.stem[len("seed"):]): np.load(path) for path in sorted(folder.glob("seed*.npz"))}
    if not runs:
        raise SystemExit(f"{folder}: no seed<N>.npz here; make them first with "
                         "`python -m bench.calibration_split collect SEED FOLDER [SET]`.")
    # The pick on all of val does not depend on the halves: made once per repeat, checked against the run's.
    picks = {seed: _pick(run["val"], run["val_y"], np.arange(len(run["val_y"]))) for seed, run in runs.items()}
    for seed, run in runs.items():
        assert picks[seed] == list(run["epochs"]).index(int(run["best"])), f"seed {seed}: the pick is not the engine's"
    draws: dict[str, list[dict]] = {}
    for draw in range(HALF_DRAWS):
        pooled: dict[str, tuple[list, list]] = {}
        for seed, run in runs.items():
            halves = _halves(run["val_y"], seed + 1000 * draw)
            for name, (i, t) in _temperatures(run, picks[seed], *halves).items():
                p = softmax(run["test"][i] / t)
                confidence, correct = pooled.setdefault(name, ([], []))
                confidence.append(p.max(1))
                correct.append(p.argmax(1) == run["test_y"])
        for name, (confidence, correct) in pooled.items():
            confidence, correct = np.concatenate(confidence), np.concatenate(correct)
            draws.setdefault(name, []).append({
                "ece": expected_calibration_error(confidence, correct, ECE_BINS).ece, "top1": correct.mean(),
                "confidence": confidence.mean(), "floor": calibrated_ece(confidence) if draw == 0 else None})
    print(f"{len(runs)} repeats pooled, {sum(len(r['test_y']) for r in runs.values())} test images; half-based ways "
          f"over {HALF_DRAWS} random pairs of halves: median (10th-90th percentile). Floor: the ECE a "
          "perfectly calibrated model with those confidences shows on as many images (first pair).\n")
    print("| way | test top-1 | mean confidence | pooled ECE | floor |\n|---|---|---|---|---|")
    for name, results in draws.items():
        ece = np.array([r["ece"] for r in results])
        spread = f" ({np.percentile(ece, 10):.3f}-{np.percentile(ece, 90):.3f})" if np.ptp(ece) > 0 else ""
        print(f"| {name} | {np.median([r['top1'] for r in results]):.3f} | "
              f"{np.median([r['confidence'] for r in results]):.3f} | {np.median(ece):.3f}{spread} | "
              f"{results[0]['floor']:.3f} |")
    _print_val_noise(runs, picks)


def _print_val_noise(runs: dict, picks: dict[int, int]) -> None:
    """How far the pooled test ECE of classmill's temperature moves with the val images alone: each
    repeat's val split resampled with replacement (same size), T refitted on the picked checkpoint,
    test ECE pooled; median and 10th-90th percentile over the resamples."""
    from classmill.evaluate.calibration import expected_calibration_error
    from classmill.evaluate.temperature import fit_temperature
    from classmill.infer.calibration import softmax

    rng = np.random.default_rng(0)
    picked = [picks[seed] for seed in runs]
    correct = np.concatenate([r["test"][i].argmax(1) == r["test_y"] for r, i in zip(runs.values(), picked)])
    eces = []
    for _ in range(VAL_RESAMPLES):
        confidence = []
        for run, i in zip(runs.values(), picked):
            drawn = rng.integers(0, len(run["val_y"]), len(run["val_y"]))
            t = fit_temperature(run["val"][i][drawn], run["val_y"][drawn]).temperature
            confidence.append(softmax(run["test"][i] / t).max(1))
        eces.append(expected_calibration_error(np.concatenate(confidence), correct, ECE_BINS).ece)
    p10, p50, p90 = np.percentile(eces, [10, 50, 90])
    print(f"\nclassmill's T with each val split resampled ({VAL_RESAMPLES} draws): pooled test ECE {p50:.3f} "
          f"({p10:.3f}-{p90:.3f})")


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "collect":
        collect(int(sys.argv[2]), Path(sys.argv[3]), *sys.argv[4:])
    elif len(sys.argv) == 3 and sys.argv[1] == "analyse":
        analyse(Path(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
