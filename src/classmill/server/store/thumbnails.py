"""Thumbnails: one JPEG of at most 256 px a side per stored image, made once at import.

Decoded through classmill.image.open_rgb, so the pixel limit (checked from the header) and EXIF
orientation apply exactly as in training; JPEGs are decoded at the reduced scale a thumbnail needs.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from classmill import atomic
from classmill.image import DEFAULT_MAX_PIXELS, open_rgb

THUMBNAIL_SIDE = 256
_QUALITY = 85


def thumbnail_path(root: Path, content_hash: str) -> Path:
    return Path(root) / content_hash[:2] / f"{content_hash}.jpg"


def make_thumbnail(source: Path, dest: Path, *, side: int = THUMBNAIL_SIDE, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Write the thumbnail of `source` to `dest` atomically (skipped if it exists already)."""
    if dest.exists():
        return
    image = open_rgb(source, max_pixels=max_pixels, needed_side=side)
    image.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    with atomic.atomic_open(dest, "wb") as fh:
        image.save(fh, format="JPEG", quality=_QUALITY, optimize=True)
