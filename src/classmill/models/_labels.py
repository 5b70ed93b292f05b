"""Class names of a model's pretrained classifier (used when num_classes=None keeps that head)."""

from __future__ import annotations

from timm.data import ImageNetInfo

from classmill.errors import ModelNotAvailableError
from classmill.models._registry import get_model_entry


def pretrained_class_names(name: str) -> list[str]:
    """Human-readable names of the pretrained head's classes, by output index (offline: timm ships them)."""
    entry = get_model_entry(name)
    if entry.pretrained_labels is None:
        raise ModelNotAvailableError(f"Model {name!r} has no known label set for its pretrained classifier.")
    return list(ImageNetInfo(entry.pretrained_labels).label_descriptions(as_dict=False))
