"""Entries for timm architectures that are not registered: any timm name works, with timm's own
preprocessing and (cached or downloadable) hub weights."""

from __future__ import annotations

import math

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import PretrainedCfg, get_pretrained_cfg, is_model

from classmill.models._entry import ModelEntry, WeightsSource
from classmill.preprocess import INTERPOLATIONS, PreprocessSpec

# Used when timm has no pretrained config at all for an architecture (random init only).
_FALLBACK_INPUT_SIZE = 224
_FALLBACK_CROP_PCT = 0.875


def is_timm_architecture(name: str) -> bool:
    """True when timm can build `name` (with or without a `.pretrained_tag`)."""
    return is_model(name)


def timm_pretrained_cfg(name: str) -> PretrainedCfg | None:
    return get_pretrained_cfg(name)


def has_hub_weights(cfg: PretrainedCfg | None) -> bool:
    return cfg is not None and bool(cfg.hf_hub_id or cfg.url or cfg.file)


def preprocess_from_timm_cfg(cfg: PretrainedCfg | None) -> PreprocessSpec:
    """timm's eval transform for these weights, expressed as our one PreprocessSpec."""
    if cfg is None:
        size, crop_pct = _FALLBACK_INPUT_SIZE, _FALLBACK_CROP_PCT
        mean, std, interpolation, crop_mode = IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, "bicubic", "center"
    else:
        size = int(cfg.input_size[-1])
        crop_pct = cfg.crop_pct or _FALLBACK_CROP_PCT
        mean, std = cfg.mean, cfg.std
        # timm also knows e.g. "lanczos"/"random"; bicubic is the closest our spec (and ONNX-side
        # inference) supports, and timm's default.
        interpolation = cfg.interpolation if cfg.interpolation in INTERPOLATIONS else "bicubic"
        crop_mode = cfg.crop_mode or "center"
    if len(mean) != 3 or len(std) != 3:
        # Greyscale-pretrained models carry one-channel stats; our pipeline is always RGB.
        mean, std = (float(mean[0]),) * 3, (float(std[0]),) * 3
    return PreprocessSpec(
        input_size=size,
        # Same rule as timm's transforms_factory: scale_size = floor(img_size / crop_pct).
        resize_size=max(size, math.floor(size / crop_pct)),
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        interpolation=interpolation,
        resize_mode="squash" if crop_mode == "squash" else "shorter_side_crop",
    )


def entry_for_timm_architecture(name: str) -> ModelEntry:
    """An unregistered ModelEntry describing timm architecture `name`."""
    cfg = timm_pretrained_cfg(name)
    source = WeightsSource.HUB if has_hub_weights(cfg) else WeightsSource.NONE
    labels = None
    if cfg is not None and cfg.num_classes == 1000 and not cfg.label_offset:
        labels = "imagenet-1k"
    return ModelEntry(
        name=name,
        architecture=name,
        weights_source=source,
        preprocess=preprocess_from_timm_cfg(cfg),
        description=f"timm architecture {name!r} (not registered with classmill)",
        pretrained_labels=labels,
        fixed_input_size=bool(cfg is not None and cfg.fixed_input_size),
    )
