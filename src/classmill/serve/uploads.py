"""Reading and decoding uploaded files, turning every failure into a 4xx that names the file."""

from __future__ import annotations

import asyncio
import base64
import io

import numpy as np
from fastapi import UploadFile
from PIL import Image, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool

from classmill.errors import DatasetError
from classmill.image import open_rgb
from classmill.infer import Prediction, Predictor, render_result_image
from classmill.preprocess import preprocess
from classmill.serve.problems import ApiProblem

_FORMATS = "JPEG, PNG, BMP, GIF, TIFF or WebP"


def upload_name(upload: UploadFile) -> str:
    return upload.filename or "upload"


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """The file's bytes, refusing it (413) past max_bytes and (422) when empty."""
    name = upload_name(upload)
    too_big = ApiProblem(
        413,
        "file_too_large",
        f"'{name}' is larger than {max_bytes / 1024**2:g} MiB.",
        "Resize or re-compress the image (a few MiB is plenty for classification) and send it again.",
        name,
    )
    if upload.size is not None and upload.size > max_bytes:
        raise too_big
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_big
    if not data:
        raise ApiProblem(422, "empty_file", f"'{name}' is empty (0 bytes).", f"Send the image file itself ({_FORMATS}).", name)
    return data


def _decode(data: bytes, name: str, predictor: Predictor) -> tuple[Image.Image, np.ndarray]:
    try:
        rgb = open_rgb(data)
    except DatasetError as exc:
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
    return rgb, preprocess(rgb, predictor.spec)


async def decode_uploads(
    uploads: list[tuple[str, bytes]], predictor: Predictor
) -> list[tuple[Image.Image, np.ndarray]]:
    """Decode and preprocess in worker threads (Pillow releases the GIL); the first bad file wins."""
    results = await asyncio.gather(
        *(run_in_threadpool(_decode, data, name, predictor) for name, data in uploads), return_exceptions=True
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
