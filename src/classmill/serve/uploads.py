"""Reading and decoding uploaded files, turning every failure into a 4xx that names the file."""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import dataclass

import numpy as np
from fastapi import UploadFile
from PIL import Image, UnidentifiedImageError

from classmill.errors import DatasetError
from classmill.image import TooManyPixelsError
from classmill.infer import Prediction, Predictor, render_result_image
from classmill.infer.render import shrink_for_result
from classmill.preprocess import preprocess
from classmill.serve.decode_pool import DecodePool
from classmill.serve.problems import ApiProblem

_FORMATS = "JPEG, PNG, BMP, GIF, TIFF or WebP"


@dataclass
class DecodedUpload:
    name: str
    array: np.ndarray  # the model's input (CHW float32)
    image: Image.Image | None  # for the result picture, already shrunk; only when asked for


def upload_name(upload: UploadFile) -> str:
    return upload.filename or "upload"


def _read(upload: UploadFile, name: str, max_bytes: int) -> bytes:
    """The file's bytes, refusing it (413) past max_bytes and (422) when empty. Runs in a decode slot,
    so at most that many uploads are in memory at once (the rest stay spooled)."""
    too_big = ApiProblem(
        413,
        "file_too_large",
        f"'{name}' is larger than {max_bytes / 1024**2:g} MiB.",
        "Resize or re-compress the image (a few MiB is plenty for classification) and send it again.",
        name,
    )
    if upload.size is not None and upload.size > max_bytes:
        raise too_big
    upload.file.seek(0)
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_big
    if not data:
        raise ApiProblem(422, "empty_file", f"'{name}' is empty (0 bytes).", f"Send the image file itself ({_FORMATS}).", name)
    return data


def _too_many_pixels(name: str, exc: DatasetError) -> ApiProblem:
    if isinstance(exc, TooManyPixelsError):
        width, height = exc.size
        limit = exc.max_pixels / 1e6
        detail = (f"'{name}' is {width}x{height} px ({width * height / 1e6:.1f} megapixels), over this server's "
                  f"limit of {limit:g} megapixels.")
    else:  # over Pillow's own hard limit
        detail = f"'{name}' has far too many pixels to decode safely ({exc.__cause__})."
        limit = None
    fix = (f"Resize it below {limit:g} megapixels" if limit else "Resize it to a few megapixels") + \
        " (a few megapixels is plenty for classification) and send it again."
    return ApiProblem(422, "too_many_pixels", detail, fix, name)


def _decode(upload: UploadFile, max_bytes: int, predictor: Predictor, keep_image: bool) -> DecodedUpload:
    name = upload_name(upload)
    data = _read(upload, name, max_bytes)
    try:
        rgb = predictor.decode(data, name=name)
    except DatasetError as exc:
        if isinstance(exc, TooManyPixelsError) or isinstance(exc.__cause__, Image.DecompressionBombError):
            raise _too_many_pixels(name, exc) from exc
        if isinstance(exc.__cause__, UnidentifiedImageError):
            raise ApiProblem(
                415, "not_an_image", f"'{name}' is not an image this server can read.", f"Send a {_FORMATS} file.", name
            ) from exc
        cause = exc.__cause__ or exc
        raise ApiProblem(
            422,
            "damaged_image",
            f"'{name}' looks like an image but cannot be decoded ({cause}).",
            "The file is probably truncated or corrupt: re-save or re-export it as JPEG or PNG.",
            name,
        ) from exc
    return DecodedUpload(name, preprocess(rgb, predictor.spec), shrink_for_result(rgb) if keep_image else None)


async def decode_uploads(
    uploads: list[UploadFile], predictor: Predictor, pool: DecodePool, *, max_bytes: int, keep_images: bool = False
) -> list[DecodedUpload]:
    """Read, decode and preprocess every upload in the bounded decode pool; the first bad file wins.

    keep_images: also keep each picture (shrunk to the result picture's size) for rendering.
    """
    results = await asyncio.gather(
        *(pool.run(_decode, upload, max_bytes, predictor, keep_images) for upload in uploads), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def png_bytes(image: Image.Image, prediction: Prediction) -> bytes:
    buf = io.BytesIO()
    render_result_image(image, prediction).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def png_data_url(image: Image.Image, prediction: Prediction) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image, prediction)).decode("ascii")
