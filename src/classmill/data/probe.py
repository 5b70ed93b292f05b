"""Look at one image file cheaply: hash its bytes, read its header, check it is complete.

Checking 10,000 images must not decode 10,000 images: the header gives format and size, and a
JPEG/PNG end marker shows a truncated upload. `deep=True` decodes every pixel instead.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

_EXIF_ORIENTATION = 0x0112
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}  # width and height swap once EXIF is applied


@dataclass
class ProbeResult:
    content_hash: str = ""
    size_bytes: int = 0
    format: str = ""
    mode: str = ""
    width: int = 0  # as displayed, after EXIF orientation
    height: int = 0
    failure_rule: str | None = None  # set when the file is not a usable image
    failure_detail: str = ""


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _is_complete(data: bytes, fmt: str) -> bool:
    tail = data[-4096:]
    if fmt == "JPEG":
        return b"\xff\xd9" in tail  # EOI; some cameras append padding after it
    if fmt == "PNG":
        return b"IEND" in tail
    return True


def probe_file(path: Path, *, deep: bool = False, max_file_bytes: int | None = None,
               max_pixels: int | None = None) -> ProbeResult:
    """Hash, header and completeness of one file, without decoding its pixels unless `deep`.

    max_file_bytes: a larger file is refused by the size rule anyway, so only its header is read
    (for the report's dimensions); it is neither read whole nor hashed.
    max_pixels: an image whose header declares more pixels fails `too_many_pixels`, undecoded.
    """
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if max_file_bytes is not None and size > max_file_bytes:
                result = ProbeResult(size_bytes=size)
                _read_header(fh, result, max_pixels=max_pixels, decode=False)
                return result
            data = fh.read()
    except OSError as exc:
        return ProbeResult(failure_rule="unreadable", failure_detail=str(exc))
    result = ProbeResult(content_hash=content_hash(data), size_bytes=len(data))
    if not data:
        result.failure_rule, result.failure_detail = "empty_file", "the file is 0 bytes"
        return result
    _read_header(io.BytesIO(data), result, max_pixels=max_pixels, decode=True if deep else None)
    if result.failure_rule is None and not _is_complete(data, result.format):
        result.failure_rule, result.failure_detail = "truncated", f"the {result.format} data ends early"
    return result


def _read_header(stream: BinaryIO, result: ProbeResult, *, max_pixels: int | None, decode: bool | None) -> None:
    """Fill format, mode and displayed size from the header, or the failure. decode: True decodes the
    pixels, False never, None only formats without an end marker to check. Over max_pixels: never."""
    try:
        with warnings.catch_warnings():
            # Between 1x and 2x Pillow's pixel limit it only warns; max_pixels and the size rules catch those.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(stream)
            result.format, result.mode = img.format or "", img.mode
            width, height = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION, 1) if result.format in ("JPEG", "PNG", "TIFF") else 1
            if orientation in _ROTATED_ORIENTATIONS:
                width, height = height, width
            result.width, result.height = width, height
            if max_pixels is not None and width * height > max_pixels:
                result.failure_rule = "too_many_pixels"
                result.failure_detail = (
                    f"{width}x{height} px is {width * height / 1e6:.1f} megapixels, over the {max_pixels / 1e6:g} MP "
                    f"limit (decoded it would take {width * height * 3 / 1e6:,.0f} MB)")
                return
            if decode or (decode is None and result.format not in ("JPEG", "PNG")):
                img.load()
    except Image.DecompressionBombError as exc:
        result.failure_rule, result.failure_detail = "decompression_bomb", str(exc)
    except UnidentifiedImageError:
        result.failure_rule, result.failure_detail = "not_an_image", "no image format recognises its content"
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        result.failure_rule, result.failure_detail = "corrupt", str(exc)
