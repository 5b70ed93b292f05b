"""The wrong predictions a user should look at first, with small embedded thumbnails.

Worst first = most confident in the wrong class: those are label errors in the dataset or
systematic model blind spots, and the cheapest to act on. Each true class is capped so that
one bad class cannot push the others out, and so the HTML stays a few megabytes at most.
"""

from __future__ import annotations

import base64
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from classmill.evaluate.inputs import Predictions
from classmill.errors import DatasetError
from classmill.image import TooManyPixelsError, open_rgb

PER_CLASS_CAP = 12
TOTAL_CAP = 360  # across all classes: keeps a 100-class report under ~2 MB of thumbnails
THUMBNAIL_SIZE = 96
_JPEG_QUALITY = 80
_TOP_N = 3


@dataclass(frozen=True)
class RankedLabel:
    label: str
    probability: float


@dataclass(frozen=True)
class MisclassifiedExample:
    index: int  # row in y_true / probs
    image_path: str | None
    true_label: str
    predicted_label: str
    confidence: float  # probability of the (wrong) predicted class
    true_label_probability: float
    top: list[RankedLabel]  # top-3 predictions, most probable first
    thumbnail_jpeg_base64: str | None = None  # embedded in HTML only, never in JSON
    thumbnail_error: str | None = None


@dataclass(frozen=True)
class MisclassifiedGroup:
    true_label: str
    total_wrong: int
    shown: list[MisclassifiedExample] = field(default_factory=list)


def select_misclassified(
    predictions: Predictions, per_class_cap: int = PER_CLASS_CAP, total_cap: int = TOTAL_CAP
) -> list[MisclassifiedGroup]:
    """Wrong predictions grouped by true class (classes without errors omitted), worst first."""
    y_true, y_pred, probs = predictions.y_true, predictions.y_pred, predictions.probs
    names = predictions.class_names
    confidence = probs.max(axis=1)
    top_order = np.argsort(-probs, axis=1, kind="stable")[:, :_TOP_N]
    groups = []
    budget = total_cap
    for class_index, name in enumerate(names):
        wrong = np.flatnonzero((y_true == class_index) & (y_pred != class_index))
        if wrong.size == 0:
            continue
        worst_first = wrong[np.argsort(-confidence[wrong], kind="stable")]
        shown = worst_first[: max(0, min(per_class_cap, budget))]
        budget -= shown.size
        examples = [
            MisclassifiedExample(
                index=int(row),
                image_path=predictions.image_paths[row] if predictions.image_paths else None,
                true_label=name,
                predicted_label=names[y_pred[row]],
                confidence=float(confidence[row]),
                true_label_probability=float(probs[row, class_index]),
                top=[RankedLabel(names[c], float(probs[row, c])) for c in top_order[row]],
            )
            for row in shown
        ]
        groups.append(MisclassifiedGroup(true_label=name, total_wrong=int(wrong.size), shown=examples))
    return groups


def attach_thumbnails(groups: list[MisclassifiedGroup], size: int = THUMBNAIL_SIZE) -> list[MisclassifiedGroup]:
    """Return the groups with each example's thumbnail (or the reason it could not be made)."""
    examples = [example for group in groups for example in group.shown if example.image_path]
    if not examples:
        return groups
    # Decoding is mostly in C with the GIL released, so threads overlap well even on 2 cores.
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip((e.index for e in examples), pool.map(lambda e: make_thumbnail(e.image_path, size), examples)))
    return [
        MisclassifiedGroup(
            true_label=group.true_label,
            total_wrong=group.total_wrong,
            shown=[_with_thumbnail(example, results.get(example.index)) for example in group.shown],
        )
        for group in groups
    ]


def make_thumbnail(path: str, size: int = THUMBNAIL_SIZE) -> tuple[str | None, str | None]:
    """(base64 JPEG no larger than size x size, None) or (None, why it failed).

    A missing or broken file must not sink the whole report, so failures are returned, not raised.
    """
    try:
        # open_rgb drafts a JPEG straight to a reduced scale (a 12 MP photo at 1/8 size decodes ~30x
        # faster than whole) and refuses a pixel bomb from its header instead of decoding it.
        rgb = open_rgb(path, needed_side=size * 2)
        rgb.thumbnail((size, size), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        rgb.save(buffer, format="JPEG", quality=_JPEG_QUALITY, optimize=True)
        return base64.b64encode(buffer.getvalue()).decode("ascii"), None
    except TooManyPixelsError as exc:
        width, height = exc.size
        return None, f"too many pixels to decode safely ({width}x{height} px)"
    except DatasetError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            return None, "image file not found"
        return None, f"cannot decode image ({(exc.__cause__ or exc).__class__.__name__})"


def _with_thumbnail(example: MisclassifiedExample, result: tuple[str | None, str | None] | None) -> MisclassifiedExample:
    if result is None:
        return example
    thumbnail, error = result
    return replace(example, thumbnail_jpeg_base64=thumbnail, thumbnail_error=error)
