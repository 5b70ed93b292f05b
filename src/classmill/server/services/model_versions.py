"""Model versions: committed by a training job once its files exist; listed, read, thresholded, deleted.

The job side (`commit_model_version`) runs in the job process under the attempt's guard: the row
is added only while the attempt is the job's current, running one, so a stale attempt never
publishes a model. Everything else is the server's side, with access through the project.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classmill.server.db.deployments import Endpoint
from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.db.projects import Project
from classmill.server.db.session import writing
from classmill.server.db.training import ModelVersion, Task
from classmill.server.errors import Conflict, Invalid, NotFound
from classmill.server.jobs.model_build import BUNDLE_NAME, BuiltModel
from classmill.server.services.access import get_accessible
from classmill.server.services.housekeeping import remove_after_rows
from classmill.server.services.paging import PageOf, PageRequest, fetch_page
from classmill.server.store.layout import StoreLayout


# ---- the job process's side ----

def commit_model_version(session: Session, job_id: int, attempt: str, task_id: int, built: BuiltModel,
                         summary: dict, workspace: Path) -> ModelVersion | None:
    """Add the version built from the task's run (numbered next in its project); None if the attempt is stale.

    Idempotent per (task, epochs): an attempt repeated after a crash returns the version already made.
    """
    with writing(session, lock_name="model-versions"):
        job = session.get(Job, job_id, populate_existing=True)
        if job is None or job.attempt != attempt or job.state != "running":
            return None
        task = session.get(Task, task_id)
        epochs = int(summary.get("epochs_completed") or 0)
        existing = session.scalar(select(ModelVersion).where(ModelVersion.task_id == task.id,
                                                             ModelVersion.epochs == epochs))
        if existing is not None:
            return existing
        number = (session.scalar(select(func.max(ModelVersion.number))
                                 .where(ModelVersion.project_id == task.project_id)) or 0) + 1
        parent = session.scalar(select(ModelVersion).where(ModelVersion.task_id == task.id)
                                .order_by(ModelVersion.epochs.desc()).limit(1))
        version = ModelVersion(
            project_id=task.project_id, number=number, task_id=task.id, task_name=task.name,
            parent_id=parent.id if parent is not None else None, dataset_version_id=task.dataset_version_id,
            epochs=epochs, classes=list(task.classes), config=dict(task.config),
            metrics={**built.metrics, "best_epoch": summary.get("best_epoch"),
                     "select_metric": summary.get("select_metric"), "best_metric": summary.get("best_metric"),
                     "training_seconds": summary.get("wall_seconds")},
            folder=built.folder.relative_to(workspace).as_posix(),
            suggested_thresholds=dict(built.suggested_thresholds), thresholds=dict(built.suggested_thresholds),
            size_bytes=built.size_bytes)
        session.add(version)
        session.flush()
        return version


# ---- the server's side ----

def get_model_version(session: Session, user: User, version_id: int, *, write: bool = False) -> ModelVersion:
    version = session.get(ModelVersion, version_id, populate_existing=True)
    missing = NotFound(f"there is no model version {version_id}.",
                       "List a project's model versions: GET /api/v1/projects/{id}/models.", code="model_not_found")
    if version is None:
        raise missing
    try:
        get_accessible(session, user, Project, version.project_id, write=write)
    except NotFound:
        raise missing from None
    return version


def list_model_versions(session: Session, user: User, project_id: int, page: PageRequest) -> PageOf[ModelVersion]:
    get_accessible(session, user, Project, project_id)
    return fetch_page(session, select(ModelVersion).where(ModelVersion.project_id == project_id)
                      .order_by(ModelVersion.number), page)


def model_folder(workspace: Path, version: ModelVersion) -> Path:
    return Path(workspace) / version.folder


def bundle_path(workspace: Path, version: ModelVersion) -> Path:
    return model_folder(workspace, version) / BUNDLE_NAME


def set_thresholds(session: Session, user: User, version_id: int, thresholds: dict[str, float]) -> ModelVersion:
    """Replace the deployed per-class thresholds (classes left out keep theirs); each in [0, 1]."""
    version = get_model_version(session, user, version_id, write=True)
    check_thresholds(version, thresholds)
    with writing(session):
        version = session.get(ModelVersion, version_id, populate_existing=True)
        version.thresholds = {**version.thresholds, **{k: float(v) for k, v in thresholds.items()}}
    return version


def check_thresholds(version: ModelVersion, thresholds: dict[str, float]) -> None:
    """Invalid unless every key is a class of `version` and every value a number in [0, 1]."""
    unknown = sorted(set(thresholds) - set(version.classes))
    if unknown:
        raise Invalid(f"model version {version.id} has no class {', '.join(map(repr, unknown))}.",
                      f"Its classes are: {', '.join(version.classes)}.", code="unknown_class")
    for name, value in thresholds.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                or not 0 <= value <= 1:
            raise Invalid(f"threshold of {name!r} is {value!r}.", "Give a number from 0 to 1 (0 = never uncertain).",
                          code="invalid_threshold")


def delete_model_version(session: Session, user: User, version_id: int, workspace: Path) -> None:
    """Delete a version nothing serves, then its folder (files after the row: never a row without files)."""
    get_model_version(session, user, version_id, write=True)
    with writing(session):
        version = session.get(ModelVersion, version_id, populate_existing=True)
        endpoint = session.scalar(select(Endpoint.name).where(Endpoint.model_version_id == version_id).limit(1))
        if endpoint is not None:
            raise Conflict(f"model version {version_id} is published as endpoint {endpoint!r}.",
                           "Unpublish the endpoint first, then delete the version.", code="model_in_use")
        folder = version.folder
        for child in session.scalars(select(ModelVersion).where(ModelVersion.parent_id == version_id)):
            child.parent_id = None
        session.delete(version)
    remove_after_rows(workspace, [Path(workspace) / folder])


# Only these files of a version's folder are served, and only by these names: a request's path
# never reaches the file system unchecked.
_DOWNLOADS = re.compile(r"(model\.cmb|model-int8\.cmb|report/(val|test)/(report\.(html|pdf|json)|figures/[a-z_]+\.png))")
_MEDIA = {".cmb": "application/zip", ".html": "text/html; charset=utf-8", ".pdf": "application/pdf",
          ".json": "application/json", ".png": "image/png"}


def model_file(session: Session, user: User, version_id: int, name: str, workspace: Path) -> tuple[Path, str, str]:
    """(path, media type, download name) of one file of a version; 404 for anything else or a missing file."""
    version = get_model_version(session, user, version_id)
    path = model_folder(workspace, version) / name
    if not _DOWNLOADS.fullmatch(name) or not path.is_file():
        raise NotFound(f"model version {version_id} has no file {name!r}.",
                       "Ask for model.cmb, model-int8.cmb (after an INT8 export) or report/<split>/report.html|pdf|json.",
                       code="model_file_not_found")
    download = f"project-{version.project_id}-model-v{version.number}-{name.replace('/', '-')}"
    return path, _MEDIA[path.suffix], download


def report_json(session: Session, user: User, version_id: int, split: str, workspace: Path) -> dict:
    import json

    path, _, _ = model_file(session, user, version_id, f"report/{split}/report.json", workspace)
    return json.loads(path.read_text(encoding="utf-8"))


def sdk_zip(session: Session, user: User, version_id: int, store: StoreLayout) -> tuple[Path, str]:
    """The offline SDK of a version with its deployed thresholds: (temp zip the caller deletes, download name)."""
    from classmill.sdk import build_sdk
    from classmill.server.services.version_export import new_export_path

    version = get_model_version(session, user, version_id)
    name = f"project-{version.project_id}-model-v{version.number}-sdk.zip"
    path = new_export_path(store)
    try:
        build_sdk(bundle_path(store.workspace, version), path, thresholds=version.thresholds, folder_name=name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, name
