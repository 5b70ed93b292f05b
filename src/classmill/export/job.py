"""What one export run works from: shared by every format writer in the format table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from classmill.preprocess import PreprocessSpec
from classmill.progress import ProgressCallback

DEFAULT_OPSET = 17


@dataclass(frozen=True)
class ExportJob:
    model: torch.nn.Module  # in eval mode for the whole export
    spec: PreprocessSpec
    class_names: list[str]
    workdir: Path  # format writers put their files here; the bundle zips them up
    opset: int = DEFAULT_OPSET
    int8_calibration_images: list[Path] | None = None
    int8_eval: tuple[list[Path], list[int]] | None = None
    torchscript: bool = False
    progress: ProgressCallback | None = None  # classmill.progress events of the long steps (INT8)

    @property
    def device(self) -> torch.device:
        first = next(self.model.parameters(), None)
        return first.device if first is not None else torch.device("cpu")

    def example_batch(self, n: int, seed: int) -> torch.Tensor:
        """A random, already-normalised-looking input batch (unit Gaussian) on the model's device."""
        g = torch.Generator().manual_seed(seed)
        size = self.spec.input_size
        return torch.randn(n, 3, size, size, generator=g).to(self.device)
