"""The one preprocessing spec: defined by the model + run config, used by evaluation, written
verbatim into a bundle's preprocess.json and read back by inference.

Deliberately free of torch so an exported bundle runs where torch is not installed. Training
augmentation is layered on top of this, never a second copy of it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
from PIL import Image

INTERPOLATIONS = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
}
RESIZE_MODES = ("shorter_side_crop", "squash")


@dataclass(frozen=True)
class PreprocessSpec:
    """How an RGB image becomes the network's input tensor (CHW float32).

    resize_mode "shorter_side_crop": scale the shorter side to `resize_size`, centre-crop
    `input_size`; with resize_size == input_size a square image is never cropped.
    "squash": resize straight to input_size x input_size (keeps every pixel of wide images).
    """

    input_size: int
    resize_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bilinear"
    resize_mode: str = "shorter_side_crop"
    version: int = field(default=1)

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {sorted(INTERPOLATIONS)}")
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode must be one of {RESIZE_MODES}")
        if self.resize_size < self.input_size:
            raise ValueError("resize_size must be >= input_size")

    def with_input_size(self, input_size: int) -> "PreprocessSpec":
        """Same rule at another resolution, keeping the resize/crop ratio."""
        ratio = self.resize_size / self.input_size
        return PreprocessSpec(
            input_size=input_size,
            resize_size=max(input_size, int(round(input_size * ratio))),
            mean=self.mean,
            std=self.std,
            interpolation=self.interpolation,
            resize_mode=self.resize_mode,
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"] = list(self.mean)
        d["std"] = list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PreprocessSpec":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        known["mean"] = tuple(float(x) for x in known["mean"])
        known["std"] = tuple(float(x) for x in known["std"])
        return cls(**known)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def resize_and_crop(img: Image.Image, spec: PreprocessSpec) -> Image.Image:
    """Geometric part of the spec: RGB image -> input_size x input_size RGB image."""
    resample = INTERPOLATIONS[spec.interpolation]
    if spec.resize_mode == "squash":
        return img.resize((spec.input_size, spec.input_size), resample)
    w, h = img.size
    scale = spec.resize_size / min(w, h)
    new_w, new_h = max(spec.input_size, round(w * scale)), max(spec.input_size, round(h * scale))
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), resample)
    left = (new_w - spec.input_size) // 2
    top = (new_h - spec.input_size) // 2
    if (left, top, new_w, new_h) != (0, 0, spec.input_size, spec.input_size):
        img = img.crop((left, top, left + spec.input_size, top + spec.input_size))
    return img


def normalize(pixels: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """HWC uint8 (or NHWC) -> CHW (or NCHW) float32, scaled to [0,1] then (x - mean) / std."""
    x = pixels.astype(np.float32) * np.float32(1.0 / 255.0)
    x = (x - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


def preprocess(img: Image.Image, spec: PreprocessSpec) -> np.ndarray:
    """RGB PIL image -> CHW float32 array, exactly as evaluation and inference feed the model."""
    return normalize(np.asarray(resize_and_crop(img, spec), dtype=np.uint8), spec)
