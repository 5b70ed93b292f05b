"""Model versions: a project's list, one version, its report and files, its deployed thresholds, INT8, delete."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status
from fastapi.responses import FileResponse

from classmill.server.api.deps import CurrentUser, SessionDep, StateDep, StoreDep
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.api.temp_file_response import TempFileResponse
from classmill.server.api.training_schemas import ModelVersionOut, ThresholdsIn
from classmill.server.services import model_int8, model_versions

router = APIRouter(tags=["models"])
_NOT_FOUND = {404: {"description": "no such model version, or one you cannot see"}}


@router.get("/projects/{project_id}/models", summary="A project's model versions, oldest first (paged)")
def list_models(project_id: DbId, user: CurrentUser, session: SessionDep, page: PageDep) -> Page[ModelVersionOut]:
    found = model_versions.list_model_versions(session, user, project_id, page)
    return Page(items=[ModelVersionOut.model_validate(v) for v in found.rows], total=found.total,
                limit=page.limit, offset=page.offset)


@router.get("/models/{version_id}", summary="One model version: metrics, config, lineage, thresholds",
            responses=_NOT_FOUND)
def get_model(version_id: DbId, user: CurrentUser, session: SessionDep) -> ModelVersionOut:
    return ModelVersionOut.model_validate(model_versions.get_model_version(session, user, version_id))


@router.get("/models/{version_id}/report", summary="The evaluation report as JSON (every figure's data)",
            responses=_NOT_FOUND)
def get_report(version_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep,
               split: Literal["val", "test"] = "val") -> dict:
    return model_versions.report_json(session, user, version_id, split, state.settings.workspace)


@router.get("/models/{version_id}/files/{name:path}", response_class=FileResponse, responses=_NOT_FOUND,
            summary="Download model.cmb (FP32 bundle), model-int8.cmb, report/<split>/report.html|pdf|json or a "
                    "report figure")
def get_file(version_id: DbId, name: str, user: CurrentUser, session: SessionDep, state: StateDep) -> FileResponse:
    path, media, download = model_versions.model_file(session, user, version_id, name, state.settings.workspace)
    inline = media.startswith(("text/html", "image/", "application/json"))
    return FileResponse(path, media_type=media, filename=download,
                        content_disposition_type="inline" if inline else "attachment")


@router.get("/models/{version_id}/sdk", response_class=FileResponse, responses=_NOT_FOUND,
            summary="Download the offline SDK: the bundle with the version's thresholds, the torch-free runtime "
                    "wheel, a README and run scripts: one command serves the model on port 8987, with a test page")
def get_sdk(version_id: DbId, user: CurrentUser, session: SessionDep, store: StoreDep) -> FileResponse:
    path, name = model_versions.sdk_zip(session, user, version_id, store)
    return TempFileResponse(path, media_type="application/zip", filename=name)


@router.put("/models/{version_id}/thresholds", summary="Set per-class thresholds (the deployed ones): an answer "
            "below its class's threshold comes back uncertain", responses=_NOT_FOUND)
def put_thresholds(version_id: DbId, body: ThresholdsIn, user: CurrentUser, session: SessionDep) -> ModelVersionOut:
    return ModelVersionOut.model_validate(model_versions.set_thresholds(session, user, version_id, body.thresholds))


@router.post("/models/{version_id}/int8", responses={
    **_NOT_FOUND, 202: {"description": "an INT8 export job was queued; the version's int8 field follows it"},
    409: {"description": "the task's run folder is gone, its checkpoint moved on, or an INT8 job is running"}},
    summary="Export the INT8 bundle (model-int8.cmb), its accuracy measured next to FP32's on the validation "
            "split; 200 when it already exists")
def request_int8(version_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep,
                 response: Response) -> ModelVersionOut:
    version, queued = model_int8.request_int8(session, state.executor, user, version_id, state.settings.workspace)
    response.status_code = status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK
    return ModelVersionOut.model_validate(version)


@router.delete("/models/{version_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND,
               summary="Delete a model version nothing serves, with its files")
def delete_model(version_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> Response:
    model_versions.delete_model_version(session, user, version_id, state.settings.workspace)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
