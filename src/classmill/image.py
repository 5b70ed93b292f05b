"""Decode any supported image into the one RGB form that training, evaluation and inference all see.

CMYK, 16-bit, palette/transparent and EXIF-rotated files are valid input: they are normalised
here, once, so an exported bundle sees exactly what training saw.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from classmill.errors import DatasetError

# Alpha is composited onto white: a transparent background is almost always "paper", and black
# would create dark borders the model learns as a feature.
_ALPHA_BACKGROUND = (255, 255, 255)


def to_rgb(img: Image.Image) -> Image.Image:
    """Return `img` as 8-bit RGB with EXIF orientation applied."""
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I", "I;16N"):
        # 16-bit (or 32-bit int) greyscale: scale the full range to 8 bits instead of clipping.
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        arr8 = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8).convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        return Image.fromarray(((arr - lo) * scale).astype(np.uint8), ).convert("RGB")
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, _ALPHA_BACKGROUND)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode == "RGB":
        return img
    # CMYK, YCbCr, LAB, L, 1, ...: Pillow's own conversions are right for these.
    return img.convert("RGB")


def open_rgb(source: str | Path | bytes) -> Image.Image:
    """Decode a file path or raw bytes into an RGB image; raise DatasetError naming the file."""
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        if isinstance(source, (bytes, bytearray)):
            img = Image.open(io.BytesIO(source))
        else:
            img = Image.open(source)
        img.load()
        return to_rgb(img)
    except Image.DecompressionBombError as exc:
        raise DatasetError(
            f"{name}: image is too large to decode safely ({exc}). Resize it below 4096 px per side."
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise DatasetError(
            f"{name}: cannot be decoded as an image ({exc}). Re-export it as JPEG or PNG, or remove it."
        ) from exc
