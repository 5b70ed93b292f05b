"""Threshold what-if: a version's answers on a split if its per-class thresholds were these.

A deployment answers an image's top-1 class c only when p(c) >= c's threshold, and "uncertain"
otherwise (the rule of classmill.evaluate.thresholds.suggest_class_thresholds). So class c's
numbers depend on c's threshold alone:
- predicted: images whose top-1 is c; answered: those at or above the threshold; uncertain: the rest;
- coverage = answered / predicted (the answered share); precision = correct answers / answered;
- recall = correct answers / images of class c (an uncertain image is a miss).
A page calls this as a slider moves: `ThresholdTable` keeps, per class, the sorted confidences
of its predicted images with the count of correct ones from each position up, so a threshold
costs one binary search, whatever the split's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from classmill.server.db.models import User
from classmill.server.services.model_predictions import SplitPredictions, version_predictions
from classmill.server.services.model_versions import check_thresholds

# predictions.json keeps 6 decimals while a suggested threshold is an exact score: an image right at
# its threshold must not fall below it by rounding.
ROUNDING = 0.5e-6


@dataclass(frozen=True)
class ClassPoint:
    name: str
    threshold: float
    support: int  # images of the class in the split
    predicted: int  # images whose top-1 answer is the class
    answered: int  # of those, at or above the threshold
    uncertain: int  # of those, below it
    correct: int  # answered and of the class
    coverage: float | None  # answered / predicted; None when nothing is predicted as the class
    precision: float | None  # correct / answered; None when nothing is answered
    recall: float | None  # correct / support; None when the class has no images


@dataclass(frozen=True)
class Overall:
    n_images: int
    answered: int
    uncertain: int
    coverage: float | None  # answered / n_images
    accuracy: float | None  # correct / answered (of the answered images)


@dataclass(frozen=True)
class Preview:
    split: str
    overall: Overall
    classes: list[ClassPoint]  # at the asked thresholds
    suggested: list[ClassPoint]  # each class at its suggested threshold


class ThresholdTable:
    """Per class, what any threshold answers, precomputed from one split's predictions."""

    def __init__(self, predictions: SplitPredictions) -> None:
        self.classes = predictions.classes
        self._index = {name: i for i, name in enumerate(self.classes)}
        self.n_images = predictions.n_images
        self._support = np.bincount(predictions.labels, minlength=len(self.classes))
        # One sort by (class, confidence), then each class is a slice: no pass over the rows per class.
        order = np.lexsort((predictions.confidence, predictions.predicted))
        by_class = predictions.predicted[order]
        confidences = predictions.confidence[order].astype(np.float64)
        correct = predictions.labels[order] == by_class
        bounds = np.searchsorted(by_class, np.arange(len(self.classes) + 1), side="left")
        self._confidences: list[np.ndarray] = []
        self._correct_from: list[np.ndarray] = []  # [k]: correct answers from the k-th smallest confidence up
        for start, end in zip(bounds[:-1], bounds[1:]):
            self._confidences.append(confidences[start:end])
            self._correct_from.append(np.append(np.cumsum(correct[start:end][::-1])[::-1], 0))

    def point(self, name: str, threshold: float) -> ClassPoint:
        index = self._index[name]
        confidences = self._confidences[index]
        first = int(np.searchsorted(confidences, threshold - ROUNDING, side="left"))
        predicted, answered = len(confidences), len(confidences) - first
        correct, support = int(self._correct_from[index][first]), int(self._support[index])
        return ClassPoint(name=name, threshold=float(threshold), support=support, predicted=predicted,
                          answered=answered, uncertain=predicted - answered, correct=correct,
                          coverage=_ratio(answered, predicted), precision=_ratio(correct, answered),
                          recall=_ratio(correct, support))

    def preview(self, split: str, thresholds: dict[str, float], suggested: dict[str, float]) -> Preview:
        """Every class at `thresholds` (a class left out: 0, answer always) and at `suggested`."""
        points = [self.point(name, thresholds.get(name, 0.0)) for name in self.classes]
        answered = sum(p.answered for p in points)
        overall = Overall(n_images=self.n_images, answered=answered, uncertain=self.n_images - answered,
                          coverage=_ratio(answered, self.n_images),
                          accuracy=_ratio(sum(p.correct for p in points), answered))
        return Preview(split, overall, points, [self.point(name, suggested.get(name, 0.0)) for name in self.classes])


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def preview_thresholds(session: Session, user: User, version_id: int, split: str, changes: dict[str, float],
                       workspace: Path) -> Preview:
    """The version's deployed thresholds with `changes` over them, previewed on `split` (read access)."""
    version, predictions = version_predictions(session, user, version_id, split, workspace)
    check_thresholds(version, changes)
    return ThresholdTable(predictions).preview(split, {**version.thresholds, **changes}, version.suggested_thresholds)
