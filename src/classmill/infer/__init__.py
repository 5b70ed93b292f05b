"""Inference from an exported bundle on ONNX Runtime. Never imports torch or training code."""

from classmill.infer.batch import CSV_COLUMNS, CSV_NAME, BatchResult, predict_many
from classmill.infer.bundle import Bundle, BundleError, read_bundle
from classmill.infer.bundle_thresholds import write_bundle_thresholds
from classmill.infer.predictor import Prediction, Predictor
from classmill.infer.render import render_result_image
from classmill.infer.sources import IMAGE_SUFFIXES, ArchiveError
from classmill.infer.thresholds import Thresholds, read_thresholds_file

__all__ = [
    "ArchiveError",
    "BatchResult",
    "Bundle",
    "BundleError",
    "CSV_COLUMNS",
    "CSV_NAME",
    "IMAGE_SUFFIXES",
    "Prediction",
    "Predictor",
    "Thresholds",
    "predict_many",
    "read_bundle",
    "read_thresholds_file",
    "render_result_image",
    "write_bundle_thresholds",
]
