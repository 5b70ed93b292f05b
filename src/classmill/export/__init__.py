"""Export a trained PyTorch model into a bundle (ONNX FP32, optional INT8 and TorchScript)."""

from classmill.export.bundle import BundleInfo, export_bundle
from classmill.export.errors import ExportError, ExportVerificationError
from classmill.export.formats import EXPORT_FORMATS, ExportFormat
from classmill.export.from_run import default_bundle_path, export_run

__all__ = [
    "EXPORT_FORMATS", "BundleInfo", "ExportError", "ExportFormat", "ExportVerificationError", "default_bundle_path",
    "export_bundle", "export_run",
]
