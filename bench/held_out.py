"""Held-out scoring: what a training child hands back about the test part, and the figures made from it.

Every peer's child returns the same thing — the class list and, per test image, its path, its true
label and the model's probabilities — and the parent computes every figure from that with one code
path (classmill.evaluate's own metrics and ECE), so no peer is scored by different arithmetic.
"""

from __future__ import annotations

from pathlib import Path

ECE_BINS = 15


def predictions(classes: list[str], paths: list, labels: list[str], probs) -> dict:
    """The child's side: one row per image, probabilities in `classes` order (rounded: the JSON stays small)."""
    return {"classes": list(classes), "paths": [str(Path(p).resolve()) for p in paths], "labels": list(labels),
            "probs": [[round(float(x), 5) for x in row] for row in probs]}


def score(pred: dict, dataset: Path) -> tuple[dict, dict]:
    """(figures, compact per-image record) from a child's predictions; paths kept relative to `dataset`."""
    import numpy as np

    from classmill.evaluate.calibration import expected_calibration_error
    from classmill.evaluate.inputs import validate_predictions
    from classmill.evaluate.metrics import compute_overall_metrics

    classes = pred["classes"]
    unknown = sorted(set(pred["labels"]) - set(classes))
    if unknown:
        raise ValueError(f"test labels {unknown} are not among the model's classes {classes}")
    checked = validate_predictions([classes.index(label) for label in pred["labels"]], np.asarray(pred["probs"]),
                                   classes, pred["paths"])
    overall = compute_overall_metrics(checked)
    confidence = checked.probs.max(axis=1)
    calibration = expected_calibration_error(confidence, checked.y_pred == checked.y_true, ECE_BINS)
    root = Path(dataset).resolve()
    figures = {"images": checked.n_images, "top1": overall.accuracy, "macro_f1": overall.macro_f1,
               "ece": calibration.ece, "ece_bins": ECE_BINS, "mean_confidence": calibration.mean_confidence}
    # Enough to recompute every figure above, and to pair two peers image by image.
    record = {"classes": classes, "paths": [_relative(p, root) for p in pred["paths"]],
              "y_true": checked.y_true.tolist(), "y_pred": checked.y_pred.tolist(),
              "confidence": [round(float(c), 4) for c in confidence]}
    return figures, record


def calibrated_ece(confidence, draws: int = 1000, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model with these top-1 confidences shows on this many images.

    Each draw makes every prediction right with probability equal to its confidence (calibrated by
    construction) and measures ECE as `score` does; the median over the draws. On a few hundred
    images binning noise alone gives an ECE of several hundredths, so a measured ECE is read
    against this figure, not against zero.
    """
    import numpy as np

    from classmill.evaluate.calibration import expected_calibration_error

    confidence = np.asarray(confidence, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return float(np.median([expected_calibration_error(confidence, rng.random(confidence.size) < confidence,
                                                       ECE_BINS).ece for _ in range(draws)]))


def pooled_calibration(records: list[dict]) -> dict:
    """ECE over the held-out predictions of several repeats taken together, and its calibrated floor.

    Each repeat's test part holds a few hundred images, where binning noise alone puts ECE at
    several hundredths; the repeats' models are trained alike, so n repeats' predictions pooled
    measure the same procedure on n times the images, with a floor about 1/sqrt(n) as high.
    """
    import numpy as np

    from classmill.evaluate.calibration import expected_calibration_error

    confidence = np.concatenate([np.asarray(r["confidence"], dtype=np.float64) for r in records])
    correct = np.concatenate([np.asarray(r["y_true"]) == np.asarray(r["y_pred"]) for r in records])
    return {"images": int(confidence.size), "ece": expected_calibration_error(confidence, correct, ECE_BINS).ece,
            "ece_if_calibrated": calibrated_ece(confidence)}


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path
