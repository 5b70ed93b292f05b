"""The page to try a model on: GET shows the form, POST classifies one image and shows its top 5.

The same decode pool, batcher and thresholds as /predict (JSON stays there); a bad file shows the
page again with what is wrong and how to fix it, under the problem's 4xx status.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from classmill.serve.deps import BatcherDep, DecodePoolDep, PredictorDep, SettingsDep
from classmill.serve.problems import ApiProblem
from classmill.serve.routes.predict import classify, sent_images
from classmill.serve.upload_page import UploadResult, render_upload_page
from classmill.serve.uploads import png_data_url

router = APIRouter(include_in_schema=False)

TOP_K = 5


@router.get("/upload", response_class=HTMLResponse)
async def upload_form(predictor: PredictorDep) -> HTMLResponse:
    return HTMLResponse(render_upload_page(predictor))


@router.post("/upload", response_class=HTMLResponse)
async def upload_result(
    predictor: PredictorDep, batcher: BatcherDep, pool: DecodePoolDep, settings: SettingsDep,
    files: Annotated[list[UploadFile] | None, File()] = None,
    file: Annotated[list[UploadFile] | None, File()] = None,
) -> HTMLResponse:
    try:
        if not files and not file:  # also what a browser sends for a file input left empty
            raise ApiProblem(422, "no_image", "No image was chosen.", "Choose an image file, then press Classify.")
        uploads = sent_images(files, file, limit=1)
        [(decoded, prediction)] = await classify(uploads, predictor, batcher, pool, settings, TOP_K, keep_images=True)
        picture = await run_in_threadpool(png_data_url, decoded.image, prediction)
    except ApiProblem as problem:
        return HTMLResponse(render_upload_page(predictor, error=problem), status_code=problem.status)
    return HTMLResponse(render_upload_page(predictor, result=UploadResult(decoded.name, prediction, picture)))

