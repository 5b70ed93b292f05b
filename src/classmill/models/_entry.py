"""What the registry knows about one model: architecture, where its weights come from, how to feed it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from classmill.preprocess import PreprocessSpec


class WeightsSource(str, Enum):
    """Where a model's pretrained weights come from."""

    OFFLINE_PACKAGE = "offline_package"  # a .pth shipped inside an installed Python package
    HUB = "hub"  # timm's own weights (Hugging Face Hub); usable offline only when already cached
    NONE = "none"  # no pretrained weights exist: random init only


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: its weights, eval preprocessing and pretrained labels travel together.

    architecture: the timm model name that builds the network.
    weights_package: importable package holding the .pth, for WeightsSource.OFFLINE_PACKAGE.
    pretrained_labels: the label set of the pretrained classifier (a timm ImageNetInfo subset name).
    fixed_input_size: True when the network cannot take any other input size.
    """

    name: str
    architecture: str
    weights_source: WeightsSource
    preprocess: PreprocessSpec
    description: str
    weights_package: str | None = None
    pretrained_labels: str | None = "imagenet-1k"
    fixed_input_size: bool = False  # the architecture takes input_size only (e.g. ViT position embeddings)

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip():
            raise ValueError(f"model name must be non-empty without surrounding spaces: {self.name!r}")
        if not isinstance(self.weights_source, WeightsSource):
            # Accept the plain string in code that builds entries from config, but store the enum.
            object.__setattr__(self, "weights_source", WeightsSource(self.weights_source))
        has_package = self.weights_package is not None
        if has_package != (self.weights_source is WeightsSource.OFFLINE_PACKAGE):
            raise ValueError(
                f"{self.name}: weights_package is required for, and only for, "
                f"weights_source={WeightsSource.OFFLINE_PACKAGE.value!r}"
            )

    @property
    def input_size(self) -> int:
        """Default square input resolution; defined once, by the preprocessing spec."""
        return self.preprocess.input_size

    @property
    def has_offline_weights(self) -> bool:
        return self.weights_source is WeightsSource.OFFLINE_PACKAGE
