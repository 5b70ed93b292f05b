"""Which parameters are the classifier head, and which are the backbone's first stages: for freezing
the backbone or its first stages, progressive unfreezing and a separate learning rate for the new head."""

from __future__ import annotations

from typing import NamedTuple

from timm.models._manipulate import group_modules
from torch import nn

from classmill.errors import ConfigError


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


def early_stages(model: nn.Module, stages: int) -> list[nn.Module]:
    """The stem and the first `stages` stages of the backbone, in order (never the head).

    Stages are timm's coarse parameter groups (model.group_matcher(coarse=True)): the stem, then one
    group per stage (efficientnet's blocks.0 .. blocks.6, resnet's layer1 .. layer4), then the head.
    """
    matcher = getattr(model, "group_matcher", None)
    if matcher is None:
        raise ConfigError(f"{type(model).__name__} does not name its stages (no group_matcher()); "
                          "train it with --freeze-stages 0.")
    groups = list(group_modules(model, matcher(coarse=True)).values())
    body = groups[:-1]  # the last group is the head (conv_head / norm / classifier)
    if stages > len(body) - 2:  # leave at least one stage to train
        raise ConfigError(f"--freeze-stages {stages} would freeze the whole backbone of {type(model).__name__}, "
                          f"which has a stem and {len(body) - 1} stages; use at most {len(body) - 2}, "
                          "or --freeze backbone.")
    return [model.get_submodule(name) for group in body[:stages + 1] for name in group]
