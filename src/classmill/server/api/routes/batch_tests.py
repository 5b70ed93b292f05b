"""Batch tests: a zip of images classified by a model version in a job; its progress, result and files."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.model_test_schemas import BatchTestOut
from classmill.server.api.numbers import DbId
from classmill.server.api.uploads import check_zip_magic, declared_length, stream_body_to
from classmill.server.services import batch_tests, imports

router = APIRouter(tags=["model tests"])
_NOT_FOUND = {404: {"description": "no such model version or batch test, or one you cannot see"}}


@router.post("/models/{version_id}/batch-tests", status_code=status.HTTP_202_ACCEPTED,
             summary="Start a batch test: the request body is a zip of images (class folders add an accuracy)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/zip": {"schema": {"type": "string", "format": "binary"}}}}},
             responses={**_NOT_FOUND, 400: {"description": "not a zip, unsafe, or over the archive limits"},
                        413: {"description": "over the upload size limit"}, 422: {"description": "no images"}})
async def start_batch_test(version_id: DbId, request: Request, user: CurrentUser, state: StateDep,
                           session: SessionDep) -> BatchTestOut:
    limit = state.settings.max_upload_bytes
    declared_length(request, limit)  # refuse a too-large upload before reading a byte of it
    await run_in_threadpool(batch_tests.check_can_batch_test, session, user, version_id)
    partial = imports.new_partial_upload(state.layout)
    await stream_body_to(request, partial, limit)
    try:
        check_zip_magic(partial)
        view = await run_in_threadpool(batch_tests.start_batch_test, session, state.executor, state.layout, user,
                                       version_id, partial)
    finally:
        partial.unlink(missing_ok=True)  # moved into the test's folder, or refused: never left in staging
    return BatchTestOut.of(view)


@router.get("/batch-tests/{job_id}", responses=_NOT_FOUND,
            summary="A batch test: state, progress, and when done its result (counts, accuracy) and file URLs")
def get_batch_test(job_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> BatchTestOut:
    return BatchTestOut.of(batch_tests.get_batch_test(session, state.executor, user, job_id))


@router.get("/batch-tests/{job_id}/{name}", response_class=FileResponse, responses=_NOT_FOUND,
            summary="Download predictions.csv (UTF-8 with BOM) or sorted.zip (images in per-class folders)")
def get_batch_test_file(job_id: DbId, name: Literal["predictions.csv", "sorted.zip"], user: CurrentUser,
                        session: SessionDep, state: StateDep) -> FileResponse:
    path, media, download = batch_tests.batch_test_file(session, state.executor, user, job_id, name,
                                                        state.settings.workspace)
    return FileResponse(path, media_type=media, filename=download)
