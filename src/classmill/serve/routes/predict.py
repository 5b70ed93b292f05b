"""Classify uploads: images as JSON, one image as a result picture, a zip as predictions.csv."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from classmill.infer import CSV_NAME, Prediction, Predictor, predict_many
from classmill.serve.batcher import DynamicBatcher
from classmill.serve.decode_pool import DecodePool
from classmill.serve.deps import BatcherDep, DecodePoolDep, PredictorDep, SettingsDep
from classmill.serve.problems import ApiProblem
from classmill.serve.schemas import PredictionOut
from classmill.serve.settings import ServeSettings
from classmill.serve.uploads import DecodedUpload, decode_uploads, png_bytes, png_data_url, upload_name

router = APIRouter()

TopK = Annotated[int, Query(ge=1, le=1000, description="how many labels to return per image")]
_IMAGE_ERRORS = {413: {"description": "file or request too large"}, 415: {"description": "not an image"},
                 422: {"description": "empty, damaged, or too many pixels"}}


async def classify(
    uploads: list[UploadFile], predictor: Predictor, batcher: DynamicBatcher, pool: DecodePool,
    settings: ServeSettings, top_k: int, keep_images: bool,
) -> list[tuple[DecodedUpload, Prediction]]:
    """Decode uploads in the shared pool, batch them with other requests, apply the predictor's thresholds."""
    decoded = await decode_uploads(uploads, predictor, pool, max_bytes=settings.max_file_bytes, keep_images=keep_images)
    rows = await asyncio.gather(*(batcher.submit(d.array) for d in decoded))
    return list(zip(decoded, predictor.to_predictions(np.stack(rows), top_k)))


def sent_images(files: list[UploadFile] | None, file: list[UploadFile] | None, limit: int) -> list[UploadFile]:
    """The images of the 'files' and 'file' fields together; a problem when there are none or too many."""
    uploads = [*(files or []), *(file or [])]
    if not uploads:
        raise ApiProblem(422, "invalid_request", "no image in the request: send it in the multipart field 'files'.",
                         "Send images as multipart/form-data in the field 'files' (or 'file'), "
                         "e.g. curl -F files=@photo.jpg URL/predict.")
    if len(uploads) > limit:
        raise ApiProblem(413, "too_many_files", f"{len(uploads)} files in one request; at most {limit} allowed.",
                         "Send fewer files per request, or zip them and POST the zip to /predict/batch.")
    return uploads


_PREDICT_DESCRIPTION = (
    "One answer per image, in order: the most likely `label`, its `confidence` and the `top_k` list. "
    "A class may have a confidence threshold (the model's thresholds.json, or the one this service was "
    "started with; see /model): an answer below its label's threshold comes with `uncertain: true` and the "
    "`threshold`; the label and top-k list are unchanged."
)


@router.post("/predict", summary="Classify one or more images (multipart field 'files'; 'file' works too)",
             description=_PREDICT_DESCRIPTION,
             response_model=list[PredictionOut], response_model_exclude_none=True, responses=_IMAGE_ERRORS)
async def predict(
    predictor: PredictorDep, batcher: BatcherDep, pool: DecodePoolDep, settings: SettingsDep,
    files: Annotated[list[UploadFile] | None, File(description="one or more images")] = None,
    file: Annotated[list[UploadFile] | None, File(description="the same as 'files' (as in curl -F file=@x.jpg)")] = None,
    top_k: TopK = 5,
    render: Annotated[bool, Query(description="also return the result picture as a PNG data URL")] = False,
) -> list[dict]:
    uploads = sent_images(files, file, settings.max_batch_files)
    results = await classify(uploads, predictor, batcher, pool, settings, top_k, keep_images=render)
    out = []
    for decoded, prediction in results:
        item = {"filename": decoded.name, **prediction.to_dict()}
        if render:
            item["result_image"] = await run_in_threadpool(png_data_url, decoded.image, prediction)
        out.append(item)
    return out


@router.post("/predict/image", summary="Classify one image (field 'file') and get it back as a PNG with the label drawn on it",
             response_class=Response, responses={200: {"content": {"image/png": {}}}, **_IMAGE_ERRORS})
async def predict_image(
    predictor: PredictorDep, batcher: BatcherDep, pool: DecodePoolDep, settings: SettingsDep,
    file: Annotated[UploadFile, File(description="one image")],
) -> Response:
    [(decoded, prediction)] = await classify([file], predictor, batcher, pool, settings, 5, keep_images=True)
    png = await run_in_threadpool(png_bytes, decoded.image, prediction)
    return Response(png, media_type="image/png")


@router.post("/predict/batch", summary="Classify every image in a zip (field 'file'); answers predictions.csv",
             response_class=Response,
             responses={200: {"content": {"text/csv": {}}}, 400: {"description": "not a zip, or an unsafe zip"}})
async def predict_batch(
    predictor: PredictorDep, pool: DecodePoolDep, settings: SettingsDep,
    file: Annotated[UploadFile, File(description="a .zip of images")],
    top_k: TopK = 5,
) -> Response:
    name = upload_name(file)
    with tempfile.TemporaryDirectory(prefix="classmill-serve-") as tmp:
        archive = Path(tmp) / "upload.zip"
        await run_in_threadpool(_save_upload, file, archive)
        _check_archive(archive, name, settings.max_zip_bytes)
        # Decodes go through the service's decode pool, shared with every other request.
        result = await run_in_threadpool(
            predict_many, predictor, archive, Path(tmp) / "out", top_k, batch_size=settings.max_batch_size,
            pool=pool.executor, max_entries=settings.max_zip_entries,
        )
        if result.total == 0:
            raise ApiProblem(422, "no_images", f"'{name}' contains no image files.",
                             "Put JPEG/PNG/... files in the zip (in any folders).", name)
        csv_bytes = result.csv_path.read_bytes()
    headers = {
        "Content-Disposition": f'attachment; filename="{CSV_NAME}"',
        "X-Classmill-Images": str(result.total),
        "X-Classmill-Errors": str(result.failed),
    }
    return Response(csv_bytes, media_type="text/csv; charset=utf-8", headers=headers)


def _check_archive(archive: Path, name: str, max_bytes: int) -> None:
    if archive.stat().st_size > max_bytes:
        raise ApiProblem(413, "file_too_large", f"'{name}' is larger than {max_bytes / 1024**2:g} MiB.",
                         "Split the images into several smaller zips.", name)
    if not zipfile.is_zipfile(archive):
        raise ApiProblem(400, "bad_zip", f"'{name}' is not a zip file.",
                         "Zip the images (e.g. `zip -r images.zip images/`) and send the .zip.", name)


def _save_upload(upload: UploadFile, dest: Path) -> None:
    upload.file.seek(0)
    with open(dest, "wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)
