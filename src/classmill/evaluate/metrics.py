"""Overall and per-class metrics, every number computed by scikit-learn.

Users compare our report with their own notebooks; using scikit-learn's definitions (and its
explicit zero_division handling) means the numbers agree to the last digit.

Two choices that differ from calling scikit-learn with defaults, both reported in the notes:
- Macro averages run over the classes that have images in the split. A class with no images
  has no recall; scoring it 0 would punish the model for the split, not for its mistakes.
  (Predictions *into* such a class still count: they lower the recall of the true class.)
- A class that is never predicted gets precision 0 (zero_division=0), not "undefined", so
  a model that ignores a class cannot look good on it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    top_k_accuracy_score,
)

from classmill.evaluate.inputs import Predictions

MAX_TOP_K = 5
NO_IMAGES_REASON = "n/a (no images of this class in the split)"
ONLY_CLASS_REASON = "n/a (this is the only class in the split, so there are no negatives to rank against)"


@dataclass(frozen=True)
class ClassMetrics:
    """One-vs-rest numbers for one class; None where the split makes a number undefined."""

    name: str
    support: int  # images of this class in the split
    predicted: int  # images the model assigned to this class
    correct: int
    precision: float | None
    recall: float | None
    f1: float | None
    auc: float | None
    auc_reason: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OverallMetrics:
    n_images: int
    n_classes: int
    n_classes_present: int
    accuracy: float
    top_k_accuracy: dict[int, float]  # k -> accuracy, for k = 1..min(5, classes)
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_precision: float
    weighted_recall: float
    weighted_f1: float
    macro_auc: float | None
    macro_auc_reason: str | None
    cohen_kappa: float | None
    cohen_kappa_reason: str | None


@dataclass(frozen=True)
class ConfusionMatrix:
    """Rows are true classes, columns predicted classes."""

    labels: list[str]
    counts: np.ndarray  # (C, C) int
    row_normalised: np.ndarray  # (C, C) float; NaN rows for classes with no images

    def most_confused_pairs(self, limit: int = 5) -> list[tuple[str, str, int]]:
        """(true, predicted, count) of the largest off-diagonal cells, largest first."""
        off_diagonal = self.counts.copy()
        np.fill_diagonal(off_diagonal, 0)
        flat = np.flatnonzero(off_diagonal)
        values = off_diagonal.ravel()[flat]
        # Largest count first; ties in reading order (row, then column) so the text is stable.
        order = flat[np.lexsort((flat, -values))][:limit]
        rows, cols = np.unravel_index(order, off_diagonal.shape)
        return [(self.labels[r], self.labels[c], int(off_diagonal[r, c])) for r, c in zip(rows, cols)]


def compute_confusion(predictions: Predictions) -> ConfusionMatrix:
    labels = np.arange(predictions.n_classes)
    counts = confusion_matrix(predictions.y_true, predictions.y_pred, labels=labels)
    # sklearn's normalize="true" writes 0 for rows without images; NaN keeps "no data" distinct
    # from "never predicted" (serialised as null).
    with np.errstate(invalid="ignore", divide="ignore"):
        row_normalised = counts / counts.sum(axis=1, keepdims=True)
    return ConfusionMatrix(labels=list(predictions.class_names), counts=counts, row_normalised=row_normalised)


def compute_class_metrics(predictions: Predictions) -> list[ClassMetrics]:
    y_true, y_pred = predictions.y_true, predictions.y_pred
    n_classes = predictions.n_classes
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(n_classes), average=None, zero_division=0
    )
    predicted = np.bincount(y_pred, minlength=n_classes)
    correct = np.bincount(y_true[y_true == y_pred], minlength=n_classes)
    rows = []
    for index, name in enumerate(predictions.class_names):
        notes: list[str] = []
        class_precision: float | None = float(precision[index])
        class_recall: float | None = float(recall[index])
        class_f1: float | None = float(f1[index])
        auc, auc_reason = _one_vs_rest_auc(predictions, index)
        if support[index] == 0:
            class_recall = class_f1 = None
            if predicted[index] == 0:
                class_precision = None
                notes.append("No images of this class in the split and none predicted: nothing to measure.")
            else:
                notes.append(
                    f"No images of this class in the split, yet {predicted[index]} were predicted as it "
                    "(all wrong, precision 0)."
                )
        elif predicted[index] == 0:
            notes.append("Never predicted: precision set to 0 (zero_division=0), recall 0.")
        rows.append(
            ClassMetrics(
                name=name,
                support=int(support[index]),
                predicted=int(predicted[index]),
                correct=int(correct[index]),
                precision=class_precision,
                recall=class_recall,
                f1=class_f1,
                auc=auc,
                auc_reason=auc_reason,
                notes=notes,
            )
        )
    return rows


def compute_overall_metrics(predictions: Predictions) -> OverallMetrics:
    y_true, y_pred, probs = predictions.y_true, predictions.y_pred, predictions.probs
    present = predictions.present_classes
    macro = precision_recall_fscore_support(y_true, y_pred, labels=present, average="macro", zero_division=0)
    weighted = precision_recall_fscore_support(y_true, y_pred, labels=present, average="weighted", zero_division=0)
    macro_auc, macro_auc_reason = _macro_auc(predictions)
    kappa, kappa_reason = _cohen_kappa(predictions)
    return OverallMetrics(
        n_images=predictions.n_images,
        n_classes=predictions.n_classes,
        n_classes_present=int(present.size),
        accuracy=float(accuracy_score(y_true, y_pred)),
        top_k_accuracy=_top_k_accuracies(predictions),
        macro_precision=float(macro[0]),
        macro_recall=float(macro[1]),
        macro_f1=float(macro[2]),
        weighted_precision=float(weighted[0]),
        weighted_recall=float(weighted[1]),
        weighted_f1=float(weighted[2]),
        macro_auc=macro_auc,
        macro_auc_reason=macro_auc_reason,
        cohen_kappa=kappa,
        cohen_kappa_reason=kappa_reason,
    )


def _top_k_accuracies(predictions: Predictions) -> dict[int, float]:
    labels = np.arange(predictions.n_classes)
    # sklearn wants the positive-class column alone for two classes.
    scores = predictions.probs[:, 1] if predictions.n_classes == 2 else predictions.probs
    result = {}
    for k in range(1, min(MAX_TOP_K, predictions.n_classes) + 1):
        with warnings.catch_warnings():
            # k == number of classes is always 1.0; sklearn warns that it is meaningless, and
            # we keep it only because the report promises top-k for every k <= classes.
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            result[k] = float(top_k_accuracy_score(predictions.y_true, scores, k=k, labels=labels))
    return result


def _one_vs_rest_auc(predictions: Predictions, index: int) -> tuple[float | None, str | None]:
    is_class = predictions.y_true == index
    if not is_class.any():
        return None, NO_IMAGES_REASON
    if is_class.all():
        return None, ONLY_CLASS_REASON
    return float(roc_auc_score(is_class, predictions.probs[:, index])), None


def _macro_auc(predictions: Predictions) -> tuple[float | None, str | None]:
    present = predictions.present_classes
    if present.size < 2:
        return None, "n/a (only one class is present in the split; ROC AUC needs at least two)"
    # Indicator form = one-vs-rest per present class, averaged. sklearn's multi_class="ovr"
    # would refuse a split where some class has no images.
    indicator = (predictions.y_true[:, None] == present[None, :]).astype(int)
    auc = float(roc_auc_score(indicator, predictions.probs[:, present], average="macro"))
    if present.size < predictions.n_classes:
        return auc, f"averaged over the {present.size} classes present in the split"
    return auc, None


def _cohen_kappa(predictions: Predictions) -> tuple[float | None, str | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        with np.errstate(invalid="ignore", divide="ignore"):
            kappa = float(
                cohen_kappa_score(predictions.y_true, predictions.y_pred, labels=np.arange(predictions.n_classes))
            )
    if not np.isfinite(kappa):
        return None, "n/a (truth and predictions use a single class, so chance agreement is total)"
    return kappa, None
