"""create_app: an exported bundle as an HTTP service (the offline SDK). No torch, no CDN."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import zipfile
from contextlib import asynccontextmanager
from importlib.resources import files as package_files
from pathlib import Path
from typing import Annotated, Sequence

import numpy as np
from fastapi import FastAPI, File, Query, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from classmill import __version__
from classmill.infer import CSV_NAME, Predictor, predict_many
from classmill.serve.batcher import DynamicBatcher
from classmill.serve.docs_page import render_api_docs
from classmill.serve.limits import BodySizeLimit
from classmill.serve.problems import ApiProblem, install_problem_handlers
from classmill.serve.uploads import decode_uploads, png_bytes, png_data_url, read_upload, upload_name

MIB = 1024 * 1024
# Multipart boundaries and headers on top of the files themselves.
_MULTIPART_OVERHEAD = 1 * MIB


class LabelProb(BaseModel):
    label: str
    prob: float


class PredictionOut(BaseModel):
    filename: str
    label: str
    confidence: float
    top_k: list[LabelProb]
    result_image: str | None = None  # PNG data URL, only with render=true


def _upload_page() -> str:
    return package_files("classmill.serve").joinpath("static/upload.html").read_text(encoding="utf-8")


def create_app(
    bundle_path: str | Path,
    *,
    max_upload_mb: float = 20,
    max_batch_files: int = 64,
    batch_window_ms: float = 5,
    max_batch_size: int = 32,
    max_zip_mb: float = 256,
    max_zip_entries: int = 10_000,
    int8: bool = False,
    providers: Sequence[str] | None = None,
) -> FastAPI:
    """Build the service for one bundle.

    max_upload_mb: per image; max_batch_files: images per /predict request; batch_window_ms and
    max_batch_size: how long and how many concurrent images are merged into one ORT call;
    max_zip_mb / max_zip_entries: the /predict/batch archive.
    """
    predictor = Predictor.load(bundle_path, int8=int8, providers=providers)
    batcher = DynamicBatcher(predictor.predict_proba, window_ms=batch_window_ms, max_batch_size=max_batch_size)
    max_file_bytes = int(max_upload_mb * MIB)
    max_zip_bytes = int(max_zip_mb * MIB)
    title = str(predictor.metadata.get("name") or Path(bundle_path).stem)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await batcher.stop()

    app = FastAPI(
        title=f"classmill: {title}",
        description=f"Image classification with {len(predictor.labels)} classes, served offline by classmill.",
        version=__version__,
        docs_url=None,  # Swagger/ReDoc need a CDN; /docs below is self-contained
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.predictor = predictor
    app.state.batcher = batcher
    install_problem_handlers(app)

    def body_limit(path: str) -> int:
        if path == "/predict/batch":
            return max_zip_bytes + _MULTIPART_OVERHEAD
        return max_file_bytes * max_batch_files + _MULTIPART_OVERHEAD

    app.add_middleware(BodySizeLimit, limit_for=body_limit)

    async def classify(named: list[tuple[str, bytes]], top_k: int):
        decoded = await decode_uploads(named, predictor)
        rows = await asyncio.gather(*(batcher.submit(arr) for _, arr in decoded))
        return [rgb for rgb, _ in decoded], predictor.to_predictions(np.stack(rows), top_k)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/upload")

    @app.get("/health", summary="Liveness, model checksum and dynamic-batching counters")
    async def health() -> dict:
        return {
            "status": "ok",
            "model_sha256": predictor.metadata.get("model_sha256"),
            "int8": predictor.int8,
            "providers": predictor.providers,
            "classes": len(predictor.labels),
            "batching": batcher.stats.to_dict(),
        }

    @app.get("/model", summary="Bundle metadata, class labels (index = class id) and preprocessing")
    async def model() -> dict:
        return {
            "metadata": predictor.metadata,
            "labels": predictor.labels,
            "preprocess": predictor.spec.to_dict(),
            "int8": predictor.int8,
        }

    @app.post(
        "/predict",
        summary="Classify one or more images (multipart field 'files')",
        response_model=list[PredictionOut],
        response_model_exclude_none=True,
        responses={413: {"description": "file or request too large"}, 415: {"description": "not an image"},
                   422: {"description": "empty or damaged image"}},
    )
    async def predict(
        files: Annotated[list[UploadFile], File(description="one or more images")],
        top_k: Annotated[int, Query(ge=1, le=1000, description="how many labels to return per image")] = 5,
        render: Annotated[bool, Query(description="also return the result picture as a PNG data URL")] = False,
    ) -> list[dict]:
        if len(files) > max_batch_files:
            raise ApiProblem(
                413, "too_many_files", f"{len(files)} files in one request; at most {max_batch_files} allowed.",
                "Send fewer files per request, or zip them and POST the zip to /predict/batch.",
            )
        named = [(upload_name(f), await read_upload(f, max_file_bytes)) for f in files]
        images, predictions = await classify(named, top_k)
        out = []
        for (name, _), image, prediction in zip(named, images, predictions):
            item = {"filename": name, **prediction.to_dict()}
            if render:
                item["result_image"] = await run_in_threadpool(png_data_url, image, prediction)
            out.append(item)
        return out

    @app.post(
        "/predict/image",
        summary="Classify one image (field 'file') and get it back as a PNG with the label drawn on it",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, 415: {"description": "not an image"}},
    )
    async def predict_image(file: Annotated[UploadFile, File(description="one image")]) -> Response:
        name = upload_name(file)
        images, predictions = await classify([(name, await read_upload(file, max_file_bytes))], 5)
        png = await run_in_threadpool(png_bytes, images[0], predictions[0])
        return Response(png, media_type="image/png")

    @app.post(
        "/predict/batch",
        summary="Classify every image in a zip (field 'file'); answers predictions.csv",
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}}, 400: {"description": "not a zip, or an unsafe zip"}},
    )
    async def predict_batch(
        file: Annotated[UploadFile, File(description="a .zip of images")],
        top_k: Annotated[int, Query(ge=1, le=1000)] = 5,
    ) -> Response:
        name = upload_name(file)
        with tempfile.TemporaryDirectory(prefix="classmill-serve-") as tmp:
            archive = Path(tmp) / "upload.zip"
            await run_in_threadpool(_save_upload, file, archive)
            if archive.stat().st_size > max_zip_bytes:
                raise ApiProblem(413, "file_too_large", f"'{name}' is larger than {max_zip_mb:g} MiB.",
                                 "Split the images into several smaller zips.", name)
            if not zipfile.is_zipfile(archive):
                raise ApiProblem(400, "bad_zip", f"'{name}' is not a zip file.",
                                 "Zip the images (e.g. `zip -r images.zip images/`) and send the .zip.", name)
            result = await run_in_threadpool(
                predict_many, predictor, archive, Path(tmp) / "out", top_k, batch_size=max_batch_size,
                max_entries=max_zip_entries,
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

    @app.get("/upload", include_in_schema=False, response_class=HTMLResponse)
    async def upload_page() -> HTMLResponse:
        return HTMLResponse(_upload_page())

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        return HTMLResponse(render_api_docs(app.openapi()))

    return app


def _save_upload(upload: UploadFile, dest: Path) -> None:
    upload.file.seek(0)
    with open(dest, "wb") as out:
        shutil.copyfileobj(upload.file, out, 1 * MIB)
