"""Look at one image file cheaply: hash its bytes, read its header, check it is complete.

Checking 10,000 images must not decode 10,000 images: the header gives format and size, and a
JPEG/PNG end marker shows a truncated upload. `deep=True` decodes every pixel instead.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

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


def probe_file(path: Path, *, deep: bool = False) -> ProbeResult:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ProbeResult(failure_rule="unreadable", failure_detail=str(exc))
    result = ProbeResult(content_hash=content_hash(data), size_bytes=len(data))
    if not data:
        result.failure_rule, result.failure_detail = "empty_file", "the file is 0 bytes"
        return result
    try:
        with warnings.catch_warnings():
            # Between 1x and 2x Pillow's pixel limit it only warns; the size rules catch those.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            result.format, result.mode = img.format or "", img.mode
            width, height = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION, 1) if result.format in ("JPEG", "PNG", "TIFF") else 1
            if orientation in _ROTATED_ORIENTATIONS:
                width, height = height, width
            result.width, result.height = width, height
            if deep or result.format not in ("JPEG", "PNG"):
                img.load()
    except Image.DecompressionBombError as exc:
        result.failure_rule, result.failure_detail = "decompression_bomb", str(exc)
        return result
    except UnidentifiedImageError:
        result.failure_rule, result.failure_detail = "not_an_image", "no image format recognises its content"
        return result
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        result.failure_rule, result.failure_detail = "corrupt", str(exc)
        return result
    if not _is_complete(data, result.format):
        result.failure_rule, result.failure_detail = "truncated", f"the {result.format} data ends early"
    return result
