"""ROC and precision-recall curves: one-vs-rest per class, plus micro and macro averages.

Only classes with images in the split get a curve (a curve for a class without positives is
undefined). Micro-averaging pools every (image, class) decision; macro-averaging gives every
class the same weight, so rare classes are not drowned by frequent ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from classmill.evaluate.inputs import Predictions

# Above this many classes per-class lines are an unreadable tangle; only averages are drawn.
MAX_CLASSES_WITH_OWN_CURVE = 20
# Curves stored in report.json are thinned to this many points; the figures use all points.
JSON_CURVE_POINTS = 200
_MACRO_PR_RECALL_GRID = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class Curve:
    label: str  # class name, "micro-average" or "macro-average"
    x: np.ndarray  # false-positive rate (ROC) or recall (PR)
    y: np.ndarray  # true-positive rate (ROC) or precision (PR)
    area: float  # ROC AUC, or average precision for PR

    def thinned(self, max_points: int = JSON_CURVE_POINTS) -> dict:
        """JSON-sized copy: evenly spaced points, always keeping both ends."""
        keep = np.unique(np.linspace(0, self.x.size - 1, min(max_points, self.x.size)).round().astype(int))
        return {
            "label": self.label,
            "area": self.area,
            "x": [round(float(v), 5) for v in self.x[keep]],
            "y": [round(float(v), 5) for v in self.y[keep]],
        }


@dataclass(frozen=True)
class CurveSet:
    kind: str  # "roc" or "pr"
    per_class: list[Curve]  # empty when there are more than MAX_CLASSES_WITH_OWN_CURVE classes
    micro: Curve | None
    macro: Curve | None
    reason: str | None  # why there are no curves, when there are none

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "per_class": [curve.thinned() for curve in self.per_class],
            "micro": self.micro.thinned() if self.micro else None,
            "macro": self.macro.thinned() if self.macro else None,
            "reason": self.reason,
        }


def compute_curves(predictions: Predictions) -> tuple[CurveSet, CurveSet]:
    """Return (ROC curves, precision-recall curves)."""
    present = predictions.present_classes
    if present.size < 2:
        reason = "n/a (only one class is present in the split; curves need images of at least two classes)"
        return CurveSet("roc", [], None, None, reason), CurveSet("pr", [], None, None, reason)
    indicator = (predictions.y_true[:, None] == present[None, :]).astype(int)
    scores = predictions.probs[:, present]
    names = [predictions.class_names[i] for i in present]
    show_per_class = predictions.n_classes <= MAX_CLASSES_WITH_OWN_CURVE
    return (
        _roc_curves(indicator, scores, names, show_per_class),
        _pr_curves(indicator, scores, names, show_per_class),
    )


def _roc_curves(indicator: np.ndarray, scores: np.ndarray, names: list[str], show_per_class: bool) -> CurveSet:
    per_class = []
    for column, name in enumerate(names):
        fpr, tpr, _ = roc_curve(indicator[:, column], scores[:, column])
        per_class.append(Curve(name, fpr, tpr, float(roc_auc_score(indicator[:, column], scores[:, column]))))
    fpr, tpr, _ = roc_curve(indicator.ravel(), scores.ravel())
    micro = Curve("micro-average", fpr, tpr, float(roc_auc_score(indicator, scores, average="micro")))
    # Macro curve: mean TPR of the class curves on the union of their FPR points (the recipe
    # of scikit-learn's own ROC example); its area is the macro AUC.
    grid = np.unique(np.concatenate([curve.x for curve in per_class]))
    mean_tpr = np.mean([np.interp(grid, curve.x, curve.y) for curve in per_class], axis=0)
    macro = Curve("macro-average", grid, mean_tpr, float(auc(grid, mean_tpr)))
    return CurveSet("roc", per_class if show_per_class else [], micro, macro, None)


def _pr_curves(indicator: np.ndarray, scores: np.ndarray, names: list[str], show_per_class: bool) -> CurveSet:
    per_class = []
    for column, name in enumerate(names):
        precision, recall, _ = precision_recall_curve(indicator[:, column], scores[:, column])
        area = float(average_precision_score(indicator[:, column], scores[:, column]))
        per_class.append(Curve(name, recall[::-1], precision[::-1], area))
    precision, recall, _ = precision_recall_curve(indicator.ravel(), scores.ravel())
    micro = Curve(
        "micro-average", recall[::-1], precision[::-1], float(average_precision_score(indicator, scores, average="micro"))
    )
    # Macro curve: mean of each class's interpolated precision (best precision at recall >= r).
    interpolated = [_interpolated_precision(curve.x, curve.y, _MACRO_PR_RECALL_GRID) for curve in per_class]
    macro = Curve(
        "macro-average",
        _MACRO_PR_RECALL_GRID,
        np.mean(interpolated, axis=0),
        float(average_precision_score(indicator, scores, average="macro")),
    )
    return CurveSet("pr", per_class if show_per_class else [], micro, macro, None)


def _interpolated_precision(recall: np.ndarray, precision: np.ndarray, grid: np.ndarray) -> np.ndarray:
    # recall ascending; running max from the right gives the best precision at recall >= r.
    best_from_here = np.maximum.accumulate(precision[::-1])[::-1]
    positions = np.searchsorted(recall, grid, side="left")
    positions = np.clip(positions, 0, recall.size - 1)
    return best_from_here[positions]
