"""Which parameters are the classifier head: for freezing the backbone, progressive unfreezing and
a separate learning rate for the new head."""

from __future__ import annotations

from typing import NamedTuple

from torch import nn


class BackboneAndHead(NamedTuple):
    backbone: list[nn.Parameter]
    head: list[nn.Parameter]


def _head_modules(model: nn.Module) -> list[nn.Module]:
    get_classifier = getattr(model, "get_classifier", None)
    if get_classifier is None:
        raise TypeError(
            f"{type(model).__name__} has no get_classifier(); build it with classmill.models.create_model."
        )
    head = get_classifier()
    # Distilled models (e.g. DeiT) return (head, head_dist).
    return list(head) if isinstance(head, (tuple, list)) else [head]


def backbone_and_head_parameters(model: nn.Module) -> BackboneAndHead:
    """Split `model`'s parameters into (backbone, head); head = timm's get_classifier()."""
    head_ids = {id(p) for module in _head_modules(model) for p in module.parameters()}
    backbone, head = [], []
    for parameter in model.parameters():
        (head if id(parameter) in head_ids else backbone).append(parameter)
    return BackboneAndHead(backbone=backbone, head=head)


def set_backbone_trainable(model: nn.Module, trainable: bool) -> None:
    """Freeze (False) or unfreeze (True) every parameter outside the classifier head."""
    for parameter in backbone_and_head_parameters(model).backbone:
        parameter.requires_grad_(trainable)
