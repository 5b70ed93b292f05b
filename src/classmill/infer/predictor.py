"""Predictor: a bundle on ONNX Runtime. Needs only the bundle (never training code or torch)."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np
import onnxruntime as ort
from PIL import Image

from classmill.errors import UserError
from classmill.image import DEFAULT_MAX_PIXELS, open_rgb, to_rgb
from classmill.infer.bundle import INPUT_NAME, Bundle, read_bundle
from classmill.infer.calibration import softmax
from classmill.infer.int8_cpu import Int8AccuracyWarning, int8_saturation_warning
from classmill.infer.thresholds import Thresholds, check_thresholds, is_uncertain
from classmill.preprocess import PreprocessSpec, preprocess

ImageSource = Union[Image.Image, str, Path, bytes]

# Big enough to amortise per-call overhead, small enough that a long list never holds
# thousands of float tensors at once.
_PREDICT_CHUNK = 64


@dataclass(frozen=True)
class Prediction:
    """One image's result: the top label, its probability, the top-k list and all probabilities.

    uncertain: the confidence is below `threshold`, the top label's threshold (None: it has none).
    The label and top-k list are the model's either way.
    """

    label: str
    confidence: float
    top_k: list[tuple[str, float]]
    probs: np.ndarray
    uncertain: bool = False
    threshold: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready form (without the full probability vector); `threshold` only when the label has one."""
        out = {
            "label": self.label,
            "confidence": self.confidence,
            "top_k": [{"label": name, "prob": prob} for name, prob in self.top_k],
            "uncertain": self.uncertain,
        }
        if self.threshold is not None:
            out["threshold"] = self.threshold
        return out


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_providers() -> list[str]:
    """CUDA first when this onnxruntime build has it, CPU always as the fallback."""
    available = ort.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _session_options() -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # A CNN is one chain of ops: all cores inside each op; parallel ops would only contend.
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = usable_cores()
    opts.inter_op_num_threads = 1
    return opts


class Predictor:
    """Classify images with an exported bundle. Safe to call from several threads at once."""

    def __init__(self, bundle: Bundle, session: ort.InferenceSession, int8: bool,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS, thresholds: Mapping[str, float] | None = None) -> None:
        self.bundle = bundle
        self.session = session
        self.int8 = int8
        self.max_pixels = max_pixels
        self.thresholds: Thresholds = (
            dict(bundle.thresholds) if thresholds is None else check_thresholds(thresholds, bundle.labels)
        )

    @classmethod
    def load(
        cls, bundle_path: str | Path, *, int8: bool = False, providers: Sequence[str] | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS, thresholds: Mapping[str, float] | None = None,
    ) -> "Predictor":
        """Load a bundle. int8: use model.int8.onnx; providers: ONNX Runtime providers in order;
        max_pixels: images with more pixels are refused from their header (None: no limit);
        thresholds: {class name: threshold} replacing the bundle's thresholds.json ({}: none)."""
        bundle = read_bundle(bundle_path)
        wanted = list(providers) if providers is not None else default_providers()
        available = ort.get_available_providers()
        unknown = [p for p in wanted if p not in available]
        if unknown or not wanted:
            raise UserError(
                f"execution provider(s) {unknown or wanted} not available in this onnxruntime; "
                f"choose from {available} (or leave providers unset)."
            )
        # Checked before the session is built: a wrong class name fails fast.
        checked = None if thresholds is None else check_thresholds(thresholds, bundle.labels)
        session = ort.InferenceSession(bundle.model_bytes(int8), _session_options(), providers=wanted)
        if int8 and session.get_providers()[0] == "CPUExecutionProvider":
            risk = int8_saturation_warning()
            if risk:
                warnings.warn(f"{bundle_path}: {risk}", Int8AccuracyWarning, stacklevel=2)
        return cls(bundle, session, int8, max_pixels, checked)

    def with_thresholds(self, thresholds: Mapping[str, float] | None) -> "Predictor":
        """The same model (sharing its ONNX Runtime session) with other thresholds; None: the bundle's."""
        return Predictor(self.bundle, self.session, self.int8, self.max_pixels, thresholds)

    @property
    def labels(self) -> list[str]:
        return self.bundle.labels

    @property
    def spec(self) -> PreprocessSpec:
        return self.bundle.spec

    @property
    def metadata(self) -> dict:
        return self.bundle.metadata

    @property
    def temperature(self) -> float:
        """The bundle's calibration temperature (1.0 without calibration.json)."""
        return self.bundle.temperature

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def decode(self, image: str | Path | bytes, name: str | None = None) -> Image.Image:
        """Decode an image file or bytes to RGB at no more resolution than the preprocessing needs,
        refusing it from its header when it is over max_pixels. name: the file's name for errors."""
        return open_rgb(image, max_pixels=self.max_pixels, needed_side=self.spec.resize_size, name=name)

    def prepare(self, image: ImageSource) -> np.ndarray:
        """Decode (any supported format) and preprocess one image into a CHW float32 array."""
        rgb = to_rgb(image) if isinstance(image, Image.Image) else self.decode(image)
        return preprocess(rgb, self.spec)

    def predict_logits(self, batch: np.ndarray) -> np.ndarray:
        """NCHW float32 batch (already preprocessed) -> N x classes raw model outputs (float32)."""
        batch = np.asarray(batch, dtype=np.float32)
        size = self.spec.input_size
        if batch.ndim != 4 or batch.shape[1:] != (3, size, size):
            raise UserError(f"batch must have shape (N, 3, {size}, {size}); got {batch.shape}.")
        if batch.shape[0] == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        return self.session.run(None, {INPUT_NAME: np.ascontiguousarray(batch)})[0].astype(np.float32)

    def predict_proba(self, batch: np.ndarray) -> np.ndarray:
        """NCHW float32 batch (already preprocessed) -> N x classes calibrated probabilities."""
        return softmax(self.predict_logits(batch), self.temperature)

    def to_predictions(self, probs: np.ndarray, top_k: int = 5) -> list[Prediction]:
        """Probability rows -> Prediction objects with the k most likely labels."""
        if top_k < 1:
            raise UserError(f"top_k must be at least 1; got {top_k}.")
        k = min(top_k, len(self.labels))
        out = []
        for row in probs:
            order = np.argsort(-row, kind="stable")[:k]
            ranked = [(self.labels[i], float(row[i])) for i in order]
            label, confidence = ranked[0]
            threshold = self.thresholds.get(label)
            out.append(Prediction(label, confidence, ranked, row, is_uncertain(confidence, threshold), threshold))
        return out

    def predict(self, images: Sequence[ImageSource], top_k: int = 5) -> list[Prediction]:
        """Classify images (PIL images, paths or encoded bytes); one Prediction per image, in order."""
        results: list[Prediction] = []
        for start in range(0, len(images), _PREDICT_CHUNK):
            chunk = images[start : start + _PREDICT_CHUNK]
            batch = np.stack([self.prepare(img) for img in chunk])
            results.extend(self.to_predictions(self.predict_proba(batch), top_k))
        return results
