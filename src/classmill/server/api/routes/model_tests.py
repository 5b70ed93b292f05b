"""Single-image tests of a model version, their result pictures, and adding a tested image to a dataset."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.model_test_schemas import AddToDataset, ModelTestOut, TestedImageOut
from classmill.server.api.numbers import DbId
from classmill.server.api.uploads import declared_length, given_name
from classmill.server.api.version_schemas import VersionOut
from classmill.server.services import model_tests, model_versions
from classmill.server.services.model_tests import MAX_TEST_IMAGE_BYTES, MAX_TEST_IMAGES, SentImage

router = APIRouter(prefix="/models/{version_id}", tags=["model tests"])
_NOT_FOUND = {404: {"description": "no such model version or test, or one you cannot see"}}
_MULTIPART_FILES = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}}


@router.post("/test", summary="Test 1-10 images (multipart field 'files'): top-5 with confidences, uncertain, "
             "and a result picture each; a file that cannot be used is an error entry naming it",
             openapi_extra=_MULTIPART_FILES, responses={**_NOT_FOUND, 422: {"description": "no or over 10 images"}})
async def test_model(version_id: DbId, request: Request, user: CurrentUser, session: SessionDep,
                     state: StateDep) -> ModelTestOut:
    # Who may test, before a byte of the body is read.
    await run_in_threadpool(model_versions.get_model_version, session, user, version_id)
    declared_length(request, state.settings.max_upload_bytes, required=True)
    sent = await _read_images(request)
    outcomes = await state.decode_pool.run(model_tests.classify_test_images, session, user, version_id, sent,
                                           state.settings.workspace, state.tested_images)
    retention = state.tested_images.retention_s
    return ModelTestOut(model_version_id=version_id, results=[
        TestedImageOut.of(version_id, o.name, o.test, o.error, retention) for o in outcomes])


async def _read_images(request: Request) -> list[SentImage]:
    try:
        async with request.form(max_files=MAX_TEST_IMAGES * 10, max_fields=10) as form:
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            model_tests.check_count(len(files))
            return [await run_in_threadpool(_read_one, upload, i) for i, upload in enumerate(files)]
    except HTTPException as exc:
        if "too many files" in str(exc.detail).lower():  # the form parser's own refusal: far too many parts
            model_tests.check_count(MAX_TEST_IMAGES * 10 + 1)
        raise


def _read_one(upload: UploadFile, index: int) -> SentImage:
    """The file's bytes (the form parser spooled it to disk), or why it is refused: never past the limit."""
    name = given_name(upload.filename, f"image-{index + 1}")
    upload.file.seek(0)
    data = upload.file.read(MAX_TEST_IMAGE_BYTES + 1)
    if len(data) > MAX_TEST_IMAGE_BYTES:
        return SentImage(name, None, ("file_too_large", f"the file is over the {MAX_TEST_IMAGE_BYTES / 2**20:g} MiB "
                                      "limit of a test image; re-compress or resize it (a few hundred KB is plenty)."))
    return SentImage(name, data)


@router.get("/tests/{test_id}", summary="One of your tests of this version (kept 24 hours): its answer",
            responses=_NOT_FOUND)
def get_test(version_id: DbId, test_id: str, user: CurrentUser, session: SessionDep,
             state: StateDep) -> TestedImageOut:
    test = model_tests.get_test(session, user, version_id, test_id, state.tested_images)
    return TestedImageOut.of(version_id, test.name, test, retention_s=state.tested_images.retention_s)


@router.get("/tests/{test_id}/result.png", response_class=FileResponse, responses=_NOT_FOUND,
            summary="The tested image with its top-1 label and confidence drawn on it")
def get_result_picture(version_id: DbId, test_id: str, user: CurrentUser, session: SessionDep,
                       state: StateDep) -> FileResponse:
    path = model_tests.result_picture(session, user, version_id, test_id, state.tested_images)
    return FileResponse(path, media_type="image/png", filename=f"model-{version_id}-test-{test_id[:8]}.png",
                        content_disposition_type="inline")


@router.post("/tests/{test_id}/add-to-dataset", status_code=status.HTTP_201_CREATED, responses=_NOT_FOUND,
             summary="Add a tested image to a dataset with the predicted or a corrected label: a new version")
def add_to_dataset(version_id: DbId, test_id: str, body: AddToDataset, user: CurrentUser, session: SessionDep,
                   state: StateDep) -> VersionOut:
    made = model_tests.add_tested_image(session, state.layout, user, version_id, test_id, state.tested_images,
                                        body.label, body.dataset_id, body.split)
    return VersionOut.model_validate(made)
