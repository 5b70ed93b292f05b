"""Decode any supported image into the one RGB form that training, evaluation and inference all see.

CMYK, 16-bit, palette/transparent and EXIF-rotated files are valid input: they are normalised
here, once, so an exported bundle sees exactly what training saw. Images come from people we do
not know: the pixel count is checked from the header before anything is decoded, and a JPEG is
decoded at a reduced scale when the caller needs fewer pixels.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from classmill.errors import ConfigError, DatasetError

# Refused before decoding: 40 MP is over three times a phone photo (~12 MP) and well above what the
# dataset policy accepts (< 4096 px per side), yet decodes to at most ~120 MB of RGB. Pillow's own
# refusal starts at ~179 MP (over 0.5 GB), far too late for a server decoding many uploads at once.
DEFAULT_MAX_PIXELS = 40_000_000
MAX_PIXELS_OPTION = "--max-megapixels"

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


def open_rgb(
    source: str | Path | bytes,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    needed_side: int | None = None,
    name: str | None = None,
) -> Image.Image:
    """Decode a file path or raw bytes into an RGB image; raise DatasetError naming the file.

    max_pixels: refuse (from the header, before decoding) an image with more pixels; None = no limit
    of ours (Pillow's own ~179 MP refusal still applies).
    needed_side: the smallest side the caller will use (e.g. a spec's resize_size); a JPEG is then
    decoded at the smallest 1/2, 1/4 or 1/8 scale that keeps both sides at least this long.
    name: how to call the file in errors (default: its path, or "<bytes>").
    """
    if name is None:
        name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        # Reads the header only. (Pillow's DecompressionBombWarning above 89 MP is left alone:
        # silencing it would change the process-wide warning filters under concurrent decodes.)
        img = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
        try:
            check_pixel_count(img.size, max_pixels, name)
            if needed_side:
                # A square request is the same in either orientation, so EXIF rotation (applied
                # after decoding, swapping width and height) cannot leave a side too short.
                img.draft("RGB", (needed_side, needed_side))
            img.load()
            return to_rgb(img)
        except BaseException:
            img.close()  # a refused or broken file must not keep its handle open
            raise
    except Image.DecompressionBombError as exc:
        raise DatasetError(
            f"{name}: image is too large to decode safely ({exc}). {_resize_fix(max_pixels)}"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise DatasetError(
            f"{name}: cannot be decoded as an image ({exc}). Re-export it as JPEG or PNG, or remove it."
        ) from exc


class TooManyPixelsError(DatasetError):
    """An image's header declares more pixels than the limit allows; nothing was decoded."""

    def __init__(self, name: str, size: tuple[int, int], max_pixels: int) -> None:
        self.name, self.size, self.max_pixels = name, size, max_pixels
        width, height = size
        super().__init__(
            f"{name}: {width}x{height} px is {width * height / 1e6:.1f} megapixels, over the limit of "
            f"{max_pixels / 1e6:g} megapixels (decoded it would take {width * height * 3 / 1e6:,.0f} MB). "
            + _resize_fix(max_pixels)
        )


def _resize_fix(max_pixels: int | None) -> str:
    limit = f"{max_pixels / 1e6:g} MP" if max_pixels else "a few megapixels"
    return (f"Resize it below {limit} (a classifier sees a few hundred pixels per side), or raise the "
            f"limit with {MAX_PIXELS_OPTION} (classmill serve/predict/evaluate).")


def max_pixels_option(megapixels: float | None) -> int:
    """A --max-megapixels value as a pixel count (None: DEFAULT_MAX_PIXELS)."""
    if megapixels is None:
        return DEFAULT_MAX_PIXELS
    if megapixels <= 0:
        raise ConfigError(f"{MAX_PIXELS_OPTION} must be above 0; got {megapixels:g}.")
    return int(megapixels * 1e6)


def check_pixel_count(size: tuple[int, int], max_pixels: int | None, name: str) -> None:
    """Raise TooManyPixelsError when width x height (from a header) is over max_pixels."""
    if max_pixels is not None and size[0] * size[1] > max_pixels:
        raise TooManyPixelsError(name, size, max_pixels)
