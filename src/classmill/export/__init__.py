"""Export a trained PyTorch model into a bundle (ONNX FP32, optional INT8 and TorchScript)."""

from classmill.export.bundle import BundleInfo, export_bundle
from classmill.export.errors import ExportError, ExportVerificationError
from classmill.export.formats import EXPORT_FORMATS, ExportFormat

__all__ = ["EXPORT_FORMATS", "BundleInfo", "ExportError", "ExportFormat", "ExportVerificationError", "export_bundle"]
