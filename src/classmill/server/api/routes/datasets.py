"""Datasets and their imports: create, list, get, delete; import a zip, a server folder, or images into a class."""

from __future__ import annotations

import os
import re
import shutil

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from classmill.server.api.dataset_schemas import DatasetOut, JobOut, NewDataset, ServerPathImport
from classmill.server.api.deps import AdminUser, CurrentUser, SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.api.uploads import check_zip_magic, declared_length, given_name, stream_body_to
from classmill.server.errors import NotFound, ServiceError
from classmill.server.services import datasets, imports
from classmill.server.services.import_job import CLASS_FILES, UPLOAD_NAME

router = APIRouter(prefix="/datasets", tags=["datasets"])
MAX_FILES_PER_BATCH = 10_000
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an empty dataset")
def create_dataset(body: NewDataset, user: CurrentUser, session: SessionDep) -> DatasetOut:
    return DatasetOut.model_validate(datasets.create_dataset(session, user, body.name, body.description,
                                                             body.task_type))


@router.get("", summary="The datasets you own or that are shared with you (all, for an admin), oldest first")
def list_datasets(user: CurrentUser, session: SessionDep, page: PageDep) -> Page[DatasetOut]:
    found = datasets.list_datasets(session, user, page)
    return Page(items=[DatasetOut.model_validate(d) for d in found.rows], total=found.total,
                limit=page.limit, offset=page.offset)


@router.get("/{dataset_id}", summary="One dataset, with its import status")
def get_dataset(dataset_id: DbId, user: CurrentUser, session: SessionDep) -> DatasetOut:
    return DatasetOut.model_validate(datasets.get_dataset(session, user, dataset_id))


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a dataset and its versions (refused while a project uses it)",
               responses={409: {"description": "a project uses it, or an import is under way"}})
def delete_dataset(dataset_id: DbId, user: CurrentUser, state: StateDep, session: SessionDep) -> Response:
    datasets.delete_dataset(session, state.layout, user, dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{dataset_id}/report", summary="The check report stored with the dataset's newest version")
def get_report(dataset_id: DbId, user: CurrentUser, session: SessionDep) -> dict:
    datasets.get_dataset(session, user, dataset_id)
    version = datasets.newest_version(session, dataset_id)
    if version is None:
        raise NotFound(f"dataset {dataset_id} has no version yet, so no report.",
                       "Import images first; a failed import's job (GET /api/v1/jobs/{id}) holds its report.",
                       code="no_version")
    return {"version": version.number, "report": version.check_report}


@router.post("/{dataset_id}/imports", status_code=status.HTTP_202_ACCEPTED,
             summary="Import a zip of class folders (or CSV / PaddleClas lists): the request body is the zip",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/zip": {"schema": {"type": "string", "format": "binary"}}}}},
             responses={413: {"description": "over the upload size limit"}, 409: {"description": "import running"}})
async def import_zip(dataset_id: DbId, request: Request, user: CurrentUser, state: StateDep,
                     session: SessionDep) -> JobOut:
    limit = state.settings.max_upload_bytes
    declared_length(request, limit)  # refuse a too-large upload before reading a byte of it
    await run_in_threadpool(imports.check_can_import, session, user, dataset_id)
    partial = imports.new_partial_upload(state.layout)
    await stream_body_to(request, partial, limit)
    try:
        check_zip_magic(partial)
        await run_in_threadpool(imports.check_uploaded_zip, partial)
        job = await run_in_threadpool(imports.begin_import, session, user, dataset_id, {"source": "upload"})

        def stage(folder) -> None:
            folder.mkdir(parents=True, mode=0o700)
            os.replace(partial, folder / UPLOAD_NAME)

        await run_in_threadpool(_hand_over, state, session, job, stage)
    finally:
        partial.unlink(missing_ok=True)
    return JobOut.model_validate(job)


def _hand_over(state, session, job, stage) -> None:
    """Move the staged input into the job's folder and start the job; if that fails, the job fails."""
    try:
        stage(imports.job_folder(state.layout, job.id))
    except OSError as exc:
        imports.fail_job(session, job.id, job.attempt, f"the upload could not be staged ({exc.strerror}). "
                         "Check the workspace disk, then retry.")
        raise
    state.executor.submit(job.id, job.attempt, job.kind)


@router.post("/{dataset_id}/imports/server-path", status_code=status.HTTP_202_ACCEPTED,
             summary="Import a folder, zip, CSV or PaddleClas lists already on the server (admins; import roots only)")
def import_server_path(dataset_id: DbId, body: ServerPathImport, admin: AdminUser, state: StateDep,
                       session: SessionDep) -> JobOut:
    job = imports.import_server_path(session, state.executor, state.settings.import_roots, admin, dataset_id,
                                     body.path)
    return JobOut.model_validate(job)


@router.post("/{dataset_id}/classes/{label}/images", status_code=status.HTTP_202_ACCEPTED,
             summary="Add images to one class (multipart, field 'files', several files): makes a new version",
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "properties": {"files": {"type": "array", "items": {
                     "type": "string", "format": "binary"}}}}}}}})
async def import_into_class(dataset_id: DbId, label: str, request: Request, user: CurrentUser, state: StateDep,
                            session: SessionDep) -> JobOut:
    imports.check_class_label(label)
    declared_length(request, state.settings.max_upload_bytes, required=True)
    await run_in_threadpool(imports.check_can_import, session, user, dataset_id)
    partial = imports.new_partial_upload(state.layout)
    try:
        names = await _save_files(request, partial / CLASS_FILES / label, label)
        job = await run_in_threadpool(imports.begin_import, session, user, dataset_id,
                                      {"source": "class_images", "label": label, "names": names})
        await run_in_threadpool(_hand_over, state, session, job, lambda folder: os.replace(partial, folder))
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return JobOut.model_validate(job)


async def _save_files(request: Request, folder, label: str) -> dict[str, str]:
    """Copy each uploaded file under a safe numbered name; returns {check ref: name the user gave}."""
    folder.mkdir(parents=True, mode=0o700)
    names: dict[str, str] = {}
    async with request.form(max_files=MAX_FILES_PER_BATCH, max_fields=10) as form:
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
        if not files:
            raise ServiceError("no files were sent.", "Send the images as multipart/form-data in the field 'files'.",
                               code="no_files")
        for i, upload in enumerate(files):
            # the name as given, bounded like a file system's (it goes into the job's params, then the version)
            given = given_name(upload.filename, f"image-{i}")
            safe = f"{i:05d}_{_UNSAFE_NAME.sub('_', given)[-120:]}"
            with open(folder / safe, "xb") as out:
                await run_in_threadpool(shutil.copyfileobj, upload.file, out, 1 << 20)
            names[f"{label}/{safe}"] = given
    return names
