"""A model version's per-image predictions on a split (report/<split>/predictions.json), as arrays.

The threshold what-if, the images behind the confusion matrix and the comparison of two versions
all read this file. It is written once, when the version is built, and never changed, so a parsed
copy is kept per (path, mtime, size): a page moving a threshold slider asks many times a second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from classmill.server.db.models import User
from classmill.server.db.training import ModelVersion
from classmill.server.errors import NotFound
from classmill.server.jobs.model_build import PREDICTIONS_NAME, REPORT_FOLDER
from classmill.server.services.model_versions import get_model_version, model_folder

SPLITS = ("val", "test")
_CACHED_FILES = 8  # 50k images x 100 classes (float32) is 20 MB


@dataclass(frozen=True)
class SplitPredictions:
    """Row i: image hashes[i] of true class labels[i] (an index into classes) with probabilities probs[i]."""

    classes: tuple[str, ...]
    hashes: np.ndarray  # (N,) str
    labels: np.ndarray  # (N,) int
    probs: np.ndarray  # (N, C) float
    predicted: np.ndarray = field(init=False, repr=False)  # (N,) the top-1 class
    confidence: np.ndarray = field(init=False, repr=False)  # (N,) the probability of the top-1 class

    def __post_init__(self) -> None:
        predicted = self.probs.argmax(axis=1) if len(self.probs) else np.zeros(0, dtype=np.int64)
        object.__setattr__(self, "predicted", predicted)
        object.__setattr__(self, "confidence", self.probs[np.arange(len(predicted)), predicted])
        for array in (self.hashes, self.labels, self.probs, self.predicted, self.confidence):
            array.flags.writeable = False  # shared by every request through the cache

    @property
    def n_images(self) -> int:
        return len(self.labels)

    @classmethod
    def from_json(cls, data: dict) -> "SplitPredictions":
        """From predictions.json's {"classes": [...], "images": [{"hash", "label", "probs"}]}."""
        classes = tuple(data["classes"])
        index = {name: i for i, name in enumerate(classes)}
        rows = data["images"]
        unknown = sorted({row["label"] for row in rows} - set(index))
        if unknown:
            raise ValueError(f"predictions name labels outside their classes: {unknown[:5]}")
        probs = np.asarray([row["probs"] for row in rows], dtype=np.float32).reshape(len(rows), len(classes))
        return cls(classes=classes, hashes=np.asarray([row["hash"] for row in rows], dtype=str),
                   labels=np.asarray([index[row["label"]] for row in rows], dtype=np.int64), probs=probs)


def predictions_path(folder: Path, split: str) -> Path:
    return Path(folder) / REPORT_FOLDER / split / PREDICTIONS_NAME


def load_predictions(path: Path) -> SplitPredictions:
    """The parsed file (FileNotFoundError when there is none), shared while the file is unchanged."""
    stat = path.stat()
    return _parsed(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=_CACHED_FILES)
def _parsed(path: str, _mtime_ns: int, _size: int) -> SplitPredictions:
    return SplitPredictions.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def version_predictions(session: Session, user: User, version_id: int, split: str,
                        workspace: Path) -> tuple[ModelVersion, SplitPredictions]:
    """A version `user` can read with its predictions on `split`; 404 when it has none on that split."""
    version = get_model_version(session, user, version_id)
    try:
        return version, load_predictions(predictions_path(model_folder(workspace, version), split))
    except FileNotFoundError:
        raise NotFound(f"model version {version_id} has no predictions on the {split} split.",
                       "Ask for split=val (every version has it; test only when its dataset has a test split).",
                       code="split_not_evaluated") from None
