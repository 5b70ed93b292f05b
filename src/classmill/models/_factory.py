"""create_model: a registered or timm model, pretrained weights loaded offline or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import timm
from torch import nn

from classmill.errors import ConfigError, ModelNotAvailableError
from classmill.models._entry import ModelEntry, WeightsSource
from classmill.models._hub_cache import find_cached_weights
from classmill.models._offline_weights import load_offline_weights, offline_weights_file
from classmill.models._registry import get_model_entry, list_offline_models
from classmill.models._timm_entries import timm_pretrained_cfg

# Errors name the CLI flag and the Python argument: both kinds of caller read them.
_RANDOM_INIT = "--no-pretrained, or pretrained=False in Python"


def create_model(
    name: str,
    num_classes: int | None,
    pretrained: bool = True,
    drop_rate: float | None = None,
    allow_download: bool = False,
    **kwargs: Any,
) -> nn.Module:
    """Build model `name` for `num_classes` classes, pretrained backbone kept.

    num_classes: an int gets a freshly initialised classifier (even 1000: your labels are not
        ImageNet's); None keeps the pretrained classifier. Required, so forgetting it cannot
        silently train a 1000-way head on a 3-class dataset.
    pretrained: load pretrained weights or raise ModelNotAvailableError, never a silent random
        init. Registered offline models load from their installed package; other timm models
        from the local Hugging Face / torch hub cache, or by download when allow_download is True.
    drop_rate, kwargs: passed to timm.create_model; None values are dropped so a caller's unset
        default never overrides the model's own.
    """
    _check_options(num_classes, drop_rate)
    entry = get_model_entry(name)
    options = {key: value for key, value in dict(kwargs, drop_rate=drop_rate).items() if value is not None}

    if not pretrained:
        # Whole network random anyway: let timm size and initialise the head its own way.
        if num_classes is not None:
            options["num_classes"] = num_classes
        return timm.create_model(entry.architecture, pretrained=False, **options)

    if entry.weights_source is WeightsSource.OFFLINE_PACKAGE:
        model = timm.create_model(entry.architecture, pretrained=False, **options)
        load_offline_weights(model, entry.weights_package)
    else:
        model = _create_with_hub_weights(entry, _hub_weights(entry, allow_download), options)
    # The checkpoint's own classifier was loaded so the load stays strict; replace it here.
    if num_classes is not None:
        model.reset_classifier(num_classes)
    return model


def _check_options(num_classes: int | None, drop_rate: float | None) -> None:
    valid_count = isinstance(num_classes, int) and not isinstance(num_classes, bool) and num_classes >= 1
    if num_classes is not None and not valid_count:
        raise ConfigError(
            "num_classes must be a positive integer (or None to keep the pretrained head), "
            f"got {num_classes!r}."
        )
    if drop_rate is not None and not 0.0 <= drop_rate < 1.0:
        raise ConfigError(f"drop_rate must be in [0, 1), got {drop_rate!r}.")


def check_model(name: str, *, pretrained: bool = True, allow_download: bool = False,
                input_size: int | None = None) -> ModelEntry:
    """Raise what create_model would for these arguments, without building the network.

    Cheap (no weights are read), so a training run can refuse an unknown model, missing weights or an
    input size the architecture cannot take before it writes anything.
    """
    entry = get_model_entry(name)
    if input_size is not None and entry.fixed_input_size and input_size != entry.input_size:
        raise ConfigError(f"Model {name!r} takes {entry.input_size} px inputs only, not {input_size}: use "
                          f"--image-size {entry.input_size} (image_size={entry.input_size}).")
    if pretrained:
        if entry.weights_source is WeightsSource.OFFLINE_PACKAGE:
            offline_weights_file(entry.weights_package)
        else:
            _hub_weights(entry, allow_download)
    return entry


def _hub_weights(entry: ModelEntry, allow_download: bool) -> Path | None:
    """The cached weights file, None when it may be downloaded, else ModelNotAvailableError."""
    offline = ", ".join(list_offline_models())
    if entry.weights_source is WeightsSource.NONE:
        raise ModelNotAvailableError(
            f"Model {entry.name!r} has no pretrained weights. Train it from random weights ({_RANDOM_INIT}), "
            f"or use a model with offline weights: {offline}."
        )
    cfg = timm_pretrained_cfg(entry.architecture)
    cached = find_cached_weights(cfg)
    if cached is not None or allow_download:
        return cached
    where = (cfg.hf_hub_id or cfg.url) if cfg is not None else entry.architecture
    raise ModelNotAvailableError(
        f"Pretrained weights for {entry.name!r} ({where}) are not cached on this machine and downloads "
        f"are off. Use a model with offline weights ({offline}), train from random weights ({_RANDOM_INIT}), "
        "or allow the download "
        "(--allow-download, or allow_download=True in Python)."
    )


def _create_with_hub_weights(entry: ModelEntry, cached: Path | None, options: dict[str, Any]) -> nn.Module:
    if cached is not None:
        # Point timm at the file so it never reaches for the network, even to check for updates.
        overlay = dict(options.pop("pretrained_cfg_overlay", None) or {}, file=str(cached))
        return timm.create_model(
            entry.architecture, pretrained=True, pretrained_cfg_overlay=overlay, **options
        )
    return timm.create_model(entry.architecture, pretrained=True, **options)
