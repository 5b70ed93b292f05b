"""Name -> ModelEntry. Registered entries first; any other timm architecture name is accepted too."""

from __future__ import annotations

import difflib

import timm

from classmill.errors import ConfigError, ModelNotAvailableError
from classmill.models._entry import ModelEntry
from classmill.models._timm_entries import entry_for_timm_architecture, is_timm_architecture
from classmill.preprocess import PreprocessSpec


class ModelRegistry:
    """Registered models by name. Duplicates are refused so one name never means two models."""

    def __init__(self) -> None:
        self._entries: dict[str, ModelEntry] = {}

    def register(self, entry: ModelEntry) -> ModelEntry:
        if entry.name in self._entries:
            raise ValueError(f"a model named {entry.name!r} is already registered")
        self._entries[entry.name] = entry
        return entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def offline_names(self) -> list[str]:
        return sorted(n for n, e in self._entries.items() if e.has_offline_weights)

    def get(self, name: str) -> ModelEntry:
        """The registered entry, else an entry for a timm architecture, else a helpful error."""
        if name in self._entries:
            return self._entries[name]
        if isinstance(name, str) and is_timm_architecture(name):
            return entry_for_timm_architecture(name)
        raise ModelNotAvailableError(self._unknown_name_message(name))

    def _unknown_name_message(self, name: object) -> str:
        query = str(name).strip().lower().replace("-", "_")
        # Registered names are what most people mean; timm's ~1,300 only when nothing is close.
        close = difflib.get_close_matches(query, self.names(), n=3, cutoff=0.6)
        if not close:
            close = difflib.get_close_matches(query, timm.list_models(), n=3, cutoff=0.75)
        hint = ""
        if close:
            hint = f" Did you mean {close[0]!r}?"
            if len(close) > 1:
                hint += f" (also close: {', '.join(close[1:])})"
        offline = ", ".join(self.offline_names()) or "none"
        return (
            f"Unknown model {name!r}.{hint} Models with offline weights: {offline}. "
            "Any timm architecture name also works (see timm.list_models())."
        )


# The process-wide registry, as in timm/torchvision: filled once at import by _builtin.
_DEFAULT_REGISTRY = ModelRegistry()


def register_model(entry: ModelEntry) -> ModelEntry:
    """Add `entry` to the registry; raises ValueError if its name is taken."""
    return _DEFAULT_REGISTRY.register(entry)


def list_models() -> list[str]:
    """Names of the registered models, sorted."""
    return _DEFAULT_REGISTRY.names()


def list_offline_models() -> list[str]:
    """Registered models whose pretrained weights are installed with classmill (no network)."""
    return _DEFAULT_REGISTRY.offline_names()


def get_model_entry(name: str) -> ModelEntry:
    """The entry for `name`: a registered model or any timm architecture.

    Raises ModelNotAvailableError with "did you mean" suggestions for an unknown name.
    """
    return _DEFAULT_REGISTRY.get(name)


def default_preprocess(name: str, input_size: int | None = None) -> PreprocessSpec:
    """The model's evaluation preprocessing, optionally at another square `input_size`.

    A different input_size keeps the model's resize/crop ratio, mean/std and interpolation.
    """
    spec = get_model_entry(name).preprocess
    if input_size is None or input_size == spec.input_size:
        return spec
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 32:
        raise ConfigError(f"input_size must be an integer of at least 32 pixels, got {input_size!r}.")
    return spec.with_input_size(input_size)
