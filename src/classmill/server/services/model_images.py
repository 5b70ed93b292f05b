"""The images behind a version's report: one confusion-matrix cell, or its mistakes, most confident first.

Both read the version's predictions on a split (services/model_predictions.py) and name each image
by its content hash, with its original file name from the version's dataset version. The top-1
answer is the report's (argmax, no thresholds), so a cell's total is the matrix's count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from classmill.server.db.datasets import VersionImage
from classmill.server.db.models import User
from classmill.server.errors import Invalid
from classmill.server.services.model_predictions import SplitPredictions, version_predictions
from classmill.server.services.paging import PageOf, PageRequest


@dataclass(frozen=True)
class ModelImage:
    content_hash: str
    original_name: str | None  # None when the dataset version no longer lists it
    label: str  # the true class
    predicted: str  # the top-1 answer
    confidence: float  # the probability of the top-1 answer
    label_probability: float  # the probability the model gave the true class


def most_confident_first(predictions: SplitPredictions, rows: np.ndarray) -> np.ndarray:
    """`rows` (indexes) ordered by top-1 confidence, highest first, then by hash: a stable page order."""
    order = np.lexsort((predictions.hashes[rows], -predictions.confidence[rows]))
    return rows[order]


def confusion_cell(predictions: SplitPredictions, true: str, predicted: str) -> np.ndarray:
    """The rows of images of class `true` answered `predicted`, most confident first."""
    t, p = _class_index(predictions, true), _class_index(predictions, predicted)
    return most_confident_first(predictions,
                                np.flatnonzero((predictions.labels == t) & (predictions.predicted == p)))


def mistakes(predictions: SplitPredictions, true: str | None = None) -> np.ndarray:
    """The rows of wrongly answered images (of class `true` only, when given), most confident first."""
    wrong = predictions.labels != predictions.predicted
    if true is not None:
        wrong &= predictions.labels == _class_index(predictions, true)
    return most_confident_first(predictions, np.flatnonzero(wrong))


def _class_index(predictions: SplitPredictions, name: str) -> int:
    try:
        return predictions.classes.index(name)
    except ValueError:
        raise Invalid(f"the model has no class {name!r}.", f"Its classes are: {', '.join(predictions.classes)}.",
                      code="unknown_class") from None


def describe(session: Session, dataset_version_id: int, predictions: SplitPredictions,
             rows: np.ndarray) -> list[ModelImage]:
    """The images at `rows`, with their original names in the dataset version."""
    hashes = [str(h) for h in predictions.hashes[rows]]
    names = original_names(session, dataset_version_id, hashes)
    classes = predictions.classes
    return [ModelImage(content_hash=h, original_name=names.get(h), label=classes[predictions.labels[row]],
                       predicted=classes[predictions.predicted[row]],
                       confidence=float(predictions.confidence[row]),
                       label_probability=float(predictions.probs[row, predictions.labels[row]]))
            for h, row in zip(hashes, rows)]


def original_names(session: Session, dataset_version_id: int, hashes: list[str]) -> dict[str, str]:
    """hash -> the file name the image had when imported into that dataset version (a page's worth)."""
    if not hashes:
        return {}
    rows = session.execute(select(VersionImage.content_hash, VersionImage.original_name).where(
        VersionImage.version_id == dataset_version_id, VersionImage.content_hash.in_(hashes)))
    return dict(rows.all())


def _page(session: Session, dataset_version_id: int, predictions: SplitPredictions, rows: np.ndarray,
          page: PageRequest) -> PageOf[ModelImage]:
    chosen = rows[page.offset:page.offset + page.limit]
    return PageOf(describe(session, dataset_version_id, predictions, chosen), len(rows), page)


def confusion_images(session: Session, user: User, version_id: int, split: str, true: str, predicted: str,
                     page: PageRequest, workspace: Path) -> PageOf[ModelImage]:
    """One page of a confusion-matrix cell's images (read access to the version)."""
    version, predictions = version_predictions(session, user, version_id, split, workspace)
    return _page(session, version.dataset_version_id, predictions, confusion_cell(predictions, true, predicted), page)


def misclassified_images(session: Session, user: User, version_id: int, split: str, true: str | None,
                         page: PageRequest, workspace: Path) -> PageOf[ModelImage]:
    """One page of the version's mistakes on `split` (of one true class, when given), most confident first."""
    version, predictions = version_predictions(session, user, version_id, split, workspace)
    return _page(session, version.dataset_version_id, predictions, mistakes(predictions, true), page)
