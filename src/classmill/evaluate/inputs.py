"""Check the predictions handed to the report before any metric sees them.

A report computed from logits, from labels of another class list, or from mismatched image
paths looks plausible and is wrong; failing here with a clear message is cheaper than a user
acting on a wrong report.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from classmill.errors import ConfigError, DatasetError

# float16 softmax over many classes drifts by a few 1e-3; logits are off by whole units.
_ROW_SUM_TOLERANCE = 0.01


@dataclass(frozen=True)
class Predictions:
    """Validated evaluation input: labels, probabilities and what they refer to."""

    y_true: np.ndarray  # (N,) int64, each in [0, C)
    probs: np.ndarray  # (N, C) float64, rows are probability distributions
    class_names: list[str]
    image_paths: list[str] | None

    @property
    def n_images(self) -> int:
        return int(self.y_true.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    # cached: argmax over (N, C) is asked for by every metric; the dataclass is frozen, so the
    # cache can never go stale.
    @cached_property
    def y_pred(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @cached_property
    def support(self) -> np.ndarray:
        return np.bincount(self.y_true, minlength=self.n_classes)

    @property
    def present_classes(self) -> np.ndarray:
        """Indices of classes with at least one image in the split."""
        return np.flatnonzero(self.support > 0)


def validate_predictions(
    y_true: Sequence[int] | np.ndarray,
    probs: Sequence[Sequence[float]] | np.ndarray,
    class_names: Sequence[str],
    image_paths: Sequence[str | Path] | None = None,
) -> Predictions:
    """Return `Predictions` or raise DatasetError saying what does not fit together."""
    names = [str(name) for name in class_names]
    if len(names) < 2:
        raise DatasetError(
            f"an evaluation needs at least 2 classes, got {len(names)} ({names}). "
            "Check the class list of the model."
        )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise DatasetError(f"class names must be unique; repeated: {duplicates}.")

    labels = np.asarray(y_true)
    if labels.ndim != 1:
        raise DatasetError(f"y_true must be one label index per image (shape (N,)), got shape {labels.shape}.")
    if labels.shape[0] == 0:
        raise DatasetError("the evaluated split has no images; nothing to report. Check the split or dataset path.")
    if labels.dtype.kind not in "iub":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise DatasetError(
                f"y_true must hold integer class indices, got dtype {labels.dtype}. "
                "Map label names to their index in class_names first."
            )
    labels = labels.astype(np.int64)
    out_of_range = labels[(labels < 0) | (labels >= len(names))]
    if out_of_range.size:
        raise DatasetError(
            f"y_true contains label index {int(out_of_range[0])}, but there are only {len(names)} classes "
            f"(valid: 0..{len(names) - 1}). The dataset and the model use different class lists."
        )

    scores = np.asarray(probs, dtype=np.float64)
    if scores.ndim != 2 or scores.shape != (labels.shape[0], len(names)):
        raise DatasetError(
            f"probs must have shape (images, classes) = ({labels.shape[0]}, {len(names)}), got {scores.shape}. "
            "The model's output size must match class_names, and there must be one row per image."
        )
    if not np.all(np.isfinite(scores)):
        row = int(np.argwhere(~np.isfinite(scores))[0, 0])
        raise DatasetError(f"probs row {row} contains NaN or infinity; the model produced invalid outputs.")
    row_sums = scores.sum(axis=1)
    bad = np.flatnonzero((scores.min(axis=1) < 0) | (np.abs(row_sums - 1.0) > _ROW_SUM_TOLERANCE))
    if bad.size:
        row = int(bad[0])
        raise DatasetError(
            f"probs must be probabilities (each row between 0 and 1, summing to 1); row {row} sums to "
            f"{row_sums[row]:.3f} with minimum {scores[row].min():.3f}. Did you pass logits? Apply softmax first."
        )

    paths: list[str] | None = None
    if image_paths is not None:
        paths = [str(path) for path in image_paths]
        if len(paths) != labels.shape[0]:
            raise DatasetError(
                f"image_paths has {len(paths)} entries but there are {labels.shape[0]} predictions; "
                "pass one path per image, in the same order."
            )
    return Predictions(y_true=labels, probs=scores, class_names=names, image_paths=paths)


def validate_target(name: str, value: float | None) -> float | None:
    """A target recall/precision is a fraction in (0, 1]; refuse percentages like 95."""
    if value is None:
        return None
    value = float(value)
    if not 0.0 < value <= 1.0:
        hint = f" Did you mean {value / 100:g}?" if 1.0 < value <= 100.0 else ""
        raise ConfigError(f"{name} must be a fraction between 0 and 1 (e.g. 0.95), got {value:g}.{hint}")
    return value


def resolve_positive_class(
    predictions: Predictions,
    positive_class: str | None,
    *,
    needed: bool,
) -> tuple[int | None, str | None]:
    """Pick the class an operating point is about; return (index, note explaining the choice).

    Binary sets default to the minority class (the "defect" of an ok/ng set is nearly always the
    rarer one); with more classes there is no safe default, so the user must name it when a
    target asks for one.
    """
    names = predictions.class_names
    if positive_class is not None:
        if positive_class not in names:
            same_letters = [name for name in names if name.casefold() == positive_class.casefold()]
            close = same_letters or difflib.get_close_matches(positive_class, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"positive class {positive_class!r} is not one of the classes {names}.{hint}")
        return names.index(positive_class), None
    if predictions.n_classes == 2:
        support = predictions.support
        if support[0] == support[1]:
            return 1, f"Both classes have {support[0]} images; {names[1]!r} was taken as the positive class. Name it explicitly to choose."
        index = int(np.argmin(support))
        return index, f"{names[index]!r} is the positive class because it is the minority class ({support[index]} of {predictions.n_images} images)."
    if needed:
        raise ConfigError(
            f"a target recall/precision needs a positive class when there are more than 2 classes; "
            f"name one of {names} (positive_class=..., or --positive-class on the command line)."
        )
    return None, None
