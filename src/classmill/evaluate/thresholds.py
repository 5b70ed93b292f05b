"""Confidence-threshold tables and the suggested operating point.

Two questions a user deploying a classifier asks:
- "If I only trust answers above confidence t, how many images do I still answer, and how
  often am I right?"  -> the top-1 table (coverage vs accuracy of the accepted images).
- "If I flag class c whenever p_c >= t, what do I catch and how many false alarms?"  -> the
  one-vs-rest table per class, and the operating point for a target recall or precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from sklearn.metrics import accuracy_score, multilabel_confusion_matrix, precision_recall_curve
from sklearn.metrics import precision_recall_fscore_support

from classmill.evaluate.formatting import percent
from classmill.evaluate.formatting import threshold as format_threshold
from classmill.evaluate.inputs import Predictions

DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(20)) + (0.99,)
# Comparing a recall of exactly 9/10 against a target of 0.9 must not fail on the last bit.
_EPSILON = 1e-12


@dataclass(frozen=True)
class TopOneRow:
    """Accept an image's top-1 answer only when its confidence is >= threshold."""

    threshold: float
    accepted: int
    coverage: float  # accepted / all images
    accuracy: float | None  # correct / accepted; None when nothing is accepted
    recall: float  # accepted and correct / all images


@dataclass(frozen=True)
class ClassThresholdRow:
    """Predict the class whenever its probability is >= threshold, whatever the other classes say."""

    threshold: float
    predicted: int
    precision: float | None  # None when nothing reaches the threshold
    recall: float | None  # None when the class has no images in the split
    false_alarms: int  # predicted as the class but of another class


@dataclass(frozen=True)
class OperatingPoint:
    positive_class: str
    target: str  # "recall" or "precision"
    target_value: float
    reachable: bool
    threshold: float | None
    precision: float | None
    recall: float | None
    false_alarms: int | None
    missed: int | None  # positives below the threshold
    message: str


def top_one_table(predictions: Predictions, thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS) -> list[TopOneRow]:
    confidence = predictions.probs.max(axis=1)
    y_true, y_pred = predictions.y_true, predictions.y_pred
    rows = []
    for threshold in thresholds:
        accepted = confidence >= threshold
        n_accepted = int(accepted.sum())
        accuracy = float(accuracy_score(y_true[accepted], y_pred[accepted])) if n_accepted else None
        accepted_correct = int(np.sum(accepted & (y_true == y_pred)))
        rows.append(
            TopOneRow(
                threshold=threshold,
                accepted=n_accepted,
                coverage=n_accepted / predictions.n_images,
                accuracy=accuracy,
                recall=accepted_correct / predictions.n_images,
            )
        )
    return rows


def per_class_tables(
    predictions: Predictions, thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
) -> dict[str, list[ClassThresholdRow]]:
    """One-vs-rest rows for every class, keyed by class name."""
    indicator = predictions.y_true[:, None] == np.arange(predictions.n_classes)[None, :]
    tables: dict[str, list[ClassThresholdRow]] = {name: [] for name in predictions.class_names}
    for threshold in thresholds:
        flagged = predictions.probs >= threshold
        # zero_division=NaN marks "nothing flagged" / "no positives" as undefined; they become
        # None (null in JSON, "—" in HTML) instead of a misleading 0.
        precision, recall, _, _ = precision_recall_fscore_support(
            indicator, flagged, average=None, zero_division=np.nan
        )
        counts = multilabel_confusion_matrix(indicator, flagged)  # (C, 2, 2): [[tn, fp], [fn, tp]]
        for index, name in enumerate(predictions.class_names):
            false_alarms = int(counts[index, 0, 1])
            tables[name].append(
                ClassThresholdRow(
                    threshold=threshold,
                    predicted=false_alarms + int(counts[index, 1, 1]),
                    precision=_none_if_nan(precision[index]),
                    recall=_none_if_nan(recall[index]),
                    false_alarms=false_alarms,
                )
            )
    return tables


def suggest_operating_points(
    predictions: Predictions,
    positive_index: int,
    *,
    target_recall: float | None = None,
    target_precision: float | None = None,
) -> list[OperatingPoint]:
    """Thresholds on p(positive) meeting each named target, or a clear "unreachable".

    target_recall -> the highest threshold that still reaches it (fewest false alarms);
    target_precision -> the lowest threshold that reaches it (most positives caught).
    Thresholds are the exact score values where the decision changes, not the coarse table grid.
    """
    name = predictions.class_names[positive_index]
    is_positive = predictions.y_true == positive_index
    scores = predictions.probs[:, positive_index]
    targets = [("recall", target_recall), ("precision", target_precision)]
    points = []
    for target, value in targets:
        if value is None:
            continue
        if not is_positive.any():
            points.append(_unreachable(
                name, target, value,
                f"Target {target} {percent(value)} for {name!r} cannot be checked: the split has no images "
                f"of {name!r}. Evaluate on a split that contains some.",
            ))
            continue
        precision, recall, thresholds = precision_recall_curve(is_positive, scores)
        # precision/recall have one extra final point (recall 0) with no threshold; drop it.
        precision, recall = precision[:-1], recall[:-1]
        if target == "recall":
            candidates = np.flatnonzero(recall >= value - _EPSILON)
            chosen = candidates[np.argmax(thresholds[candidates])] if candidates.size else None
        else:
            candidates = np.flatnonzero(precision >= value - _EPSILON)
            chosen = candidates[np.argmin(thresholds[candidates])] if candidates.size else None
        if chosen is None:
            best = float(precision.max()) if target == "precision" else float(recall.max())
            points.append(_unreachable(
                name, target, value,
                f"Target {target} {percent(value)} for {name!r} is unreachable on this split: the best any "
                f"threshold achieves is {percent(best)}. Lower the target or improve the model.",
            ))
            continue
        threshold = float(thresholds[chosen])
        flagged = scores >= threshold
        false_alarms = int(np.sum(flagged & ~is_positive))
        missed = int(np.sum(~flagged & is_positive))
        points.append(
            OperatingPoint(
                positive_class=name,
                target=target,
                target_value=value,
                reachable=True,
                threshold=threshold,
                precision=float(precision[chosen]),
                recall=float(recall[chosen]),
                false_alarms=false_alarms,
                missed=missed,
                message=(
                    f"Target {target} {percent(value)} for {name!r}: flag an image as {name!r} when "
                    f"p({name}) >= {format_threshold(threshold)}. This catches {percent(recall[chosen])} of "
                    f"{name!r} images ({missed} missed) with precision {percent(precision[chosen])} "
                    f"({false_alarms} false alarms among {int((~is_positive).sum())} other images)."
                ),
            )
        )
    return points


def _unreachable(name: str, target: str, value: float, message: str) -> OperatingPoint:
    return OperatingPoint(
        positive_class=name, target=target, target_value=value, reachable=False, threshold=None,
        precision=None, recall=None, false_alarms=None, missed=None, message=message,
    )


def _none_if_nan(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def thresholds_to_deploy(report: Mapping) -> dict[str, float]:
    """The report's suggested operating point as the thresholds a bundle serves: {positive class: threshold}.

    report: a report.json (dict). A served answer below its class's threshold is "uncertain", i.e.
    the threshold says when an answer can be trusted; that is what a precision target guarantees,
    so its threshold wins; a recall target's is used when it is the only reachable one. Empty
    when the report suggests no reachable operating point (no target was asked for).
    """
    chosen: dict[str, tuple[int, float]] = {}
    preference = {"precision": 0, "recall": 1}
    for point in report.get("operating_points") or []:
        if not point.get("reachable") or point.get("threshold") is None:
            continue
        rank = preference.get(point.get("target"), 2)
        name = point["positive_class"]
        if name not in chosen or rank < chosen[name][0]:
            chosen[name] = (rank, float(point["threshold"]))
    return {name: threshold for name, (_, threshold) in chosen.items()}
