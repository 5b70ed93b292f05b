"""The export-format table: what a bundle can hold, which file, which writer, when it is made.

Formats are written in table order, so a format may read an earlier one's file (INT8 quantises
the FP32 ONNX model). Each writer returns the metadata to record for its file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from classmill.export.job import ExportJob
from classmill.export.onnx_export import write_onnx
from classmill.export.quantize import write_int8
from classmill.infer.bundle import INT8_MODEL_FILE, MODEL_FILE, TORCHSCRIPT_FILE


def write_torchscript(job: ExportJob, dest: Path) -> dict:
    """Traced TorchScript, for callers who want to stay in PyTorch (needs torch to load)."""
    with warnings.catch_warnings():
        # TorchScript is deprecated upstream but still the one file a C++/mobile torch loads.
        warnings.simplefilter("ignore", FutureWarning)
        with torch.no_grad():
            traced = torch.jit.trace(job.model, job.example_batch(2, seed=0))
        torch.jit.save(traced, str(dest))
    return {}


@dataclass(frozen=True)
class ExportFormat:
    name: str
    file: str  # member name inside the bundle zip
    write: Callable[[ExportJob, Path], dict]
    wanted: Callable[[ExportJob], bool]


EXPORT_FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("onnx", MODEL_FILE, write_onnx, lambda job: True),
    ExportFormat("onnx-int8", INT8_MODEL_FILE, write_int8, lambda job: job.int8_calibration_images is not None),
    ExportFormat("torchscript", TORCHSCRIPT_FILE, write_torchscript, lambda job: job.torchscript),
)
