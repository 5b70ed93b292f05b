"""INT8 on request: queue the export of a version's INT8 bundle; the job records its result under its attempt's guard.

The server's side refuses what cannot work before a job exists: INT8 needs the task's run folder
(its checkpoint, and its training and validation images for calibration and the accuracy check),
and that checkpoint must still be the version's model — an extension may have replaced the run's
best checkpoint with a later epoch's. The job process's side (server/jobs/int8_job.py) writes the
bundle under a temporary name, then `commit_int8` renames it to model-int8.cmb and records the
result in the version's `int8` column in one guarded transaction: a stale attempt publishes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from classmill.errors import UserError
from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.db.projects import Project
from classmill.server.db.session import writing
from classmill.server.db.training import ModelVersion, Task
from classmill.server.errors import Conflict, NotFound
from classmill.server.jobs.executor import Executor
from classmill.server.jobs.int8_job import INT8_KIND
from classmill.server.jobs.model_build import INT8_BUNDLE_NAME
from classmill.server.jobs.train_job import run_folder
from classmill.server.services.jobs import new_attempt
from classmill.server.services.model_versions import get_model_version, model_folder

ACTIVE = ("queued", "running")


def _lock(version_id: int) -> str:
    return f"model-version-{version_id}-int8"


def int8_path(workspace: Path, version: ModelVersion) -> Path:
    return model_folder(workspace, version) / INT8_BUNDLE_NAME


def _exported(workspace: Path, version: ModelVersion) -> bool:
    return (version.int8 or {}).get("state") == "succeeded" and int8_path(workspace, version).is_file()


# ---- the server's side ----

def request_int8(session: Session, executor: Executor, user: User, version_id: int,
                 workspace: Path) -> tuple[ModelVersion, bool]:
    """Queue an INT8 export of the version (write access); (version, True) when a job was queued,
    (version, False) when its model-int8.cmb already exists."""
    version = get_model_version(session, user, version_id, write=True)
    if _exported(workspace, version):
        return version, False
    run_name = _usable_run(session, version, workspace)
    with writing(session, lock_name=_lock(version_id)):
        version = session.get(ModelVersion, version_id, populate_existing=True)
        if version is None:
            raise NotFound(f"there is no model version {version_id}.", "It was deleted meanwhile.",
                           code="model_not_found")
        if _exported(workspace, version):
            return version, False
        earlier = (version.int8 or {}).get("job_id")
        job = session.get(Job, earlier, populate_existing=True) if earlier else None
        if job is not None and job.state in ACTIVE:
            raise Conflict(f"an INT8 export of model version {version_id} is already {job.state} (job {job.id}).",
                           f"Wait for it: GET /api/v1/jobs/{job.id}; the version's int8 field shows the result.",
                           code="int8_running")
        project = session.get(Project, version.project_id)
        job = Job(kind=INT8_KIND, attempt=new_attempt(), owner_id=user.id, dataset_id=project.dataset_id,
                  params={"model_version_id": version.id, "run": run_name}, state="queued", progress_phase="queued")
        session.add(job)
        session.flush()
        version.int8 = {"job_id": job.id, "state": "queued"}
    executor.submit(job.id, job.attempt, job.kind)
    return version, True


def _usable_run(session: Session, version: ModelVersion, workspace: Path) -> str:
    """The task's run folder name, if it still holds this version's checkpoint; Conflict with the fix otherwise."""
    from classmill.train.run_dir import RunDirectory

    gone = Conflict(f"model version {version.id}'s training run is gone (its task {version.task_name!r} was "
                    "deleted), and INT8 needs the run's checkpoint and its images for calibration.",
                    "Train the same options again as a new task (POST /api/v1/projects/{id}/tasks) and request "
                    "INT8 of its model version.", code="run_gone")
    task = session.get(Task, version.task_id) if version.task_id is not None else None
    if task is None:
        raise gone
    job = session.get(Job, task.job_id, populate_existing=True)
    if job.state in ACTIVE:
        raise Conflict(f"task {task.id} is {job.state} (an extension): its checkpoint may change while INT8 reads it.",
                       f"Wait for it to finish (GET /api/v1/tasks/{task.id}), then request INT8 again.",
                       code="task_training")
    run = RunDirectory(run_folder(workspace, job.params))
    if not run.best.is_file():
        raise gone
    best_epoch = run.status().get("best_epoch")
    if version.metrics.get("best_epoch") is not None and best_epoch != version.metrics["best_epoch"]:
        latest = session.scalar(select(ModelVersion.number).where(ModelVersion.task_id == task.id)
                                .order_by(ModelVersion.epochs.desc()).limit(1))
        raise Conflict(f"the run's best checkpoint is now epoch {best_epoch}'s, not the one model version "
                       f"{version.number} was built from (epoch {version.metrics['best_epoch']}): the task was "
                       "extended since.",
                       f"Request INT8 of the task's latest model version (number {latest}), which holds that "
                       "checkpoint.", code="checkpoint_moved")
    return str(job.params["run"])


# ---- the job process's side: every write guarded by the attempt ----

@dataclass(frozen=True)
class Int8Target:
    folder: Path  # the version's folder
    best_epoch: int | None  # the checkpoint epoch the version was built from


def int8_target(session: Session, version_id: int, workspace: Path) -> Int8Target | None:
    version = session.get(ModelVersion, version_id, populate_existing=True)
    if version is None:
        return None
    return Int8Target(model_folder(workspace, version), version.metrics.get("best_epoch"))


def _current(session: Session, job_id: int, attempt: str) -> bool:
    # FOR UPDATE on PostgreSQL: the server cannot replace the attempt until this transaction ends.
    job = session.get(Job, job_id, populate_existing=True, with_for_update=True)
    return job is not None and job.attempt == attempt and job.state == "running"


def record_int8(session: Session, job_id: int, attempt: str, version_id: int, record: dict) -> bool:
    """Set the version's int8 record while the attempt is current; False when it is stale (or the version gone)."""
    with writing(session, lock_name=_lock(version_id)):
        version = session.get(ModelVersion, version_id, populate_existing=True)
        if version is None or not _current(session, job_id, attempt):
            return False
        version.int8 = record
        return True


def commit_int8(session: Session, job_id: int, attempt: str, version_id: int, written: Path, record: dict,
                workspace: Path) -> bool:
    """Rename the written bundle to the version's model-int8.cmb and record it, in one guarded transaction;
    False when the attempt is stale, UserError when the version was deleted meanwhile.

    The rename comes before the commit: the row never names a file that is not there (a crash in
    between leaves the file with the row still "running", and the next request exports again).
    """
    with writing(session, lock_name=_lock(version_id)):
        version = session.get(ModelVersion, version_id, populate_existing=True)
        if version is None:
            raise UserError(f"model version {version_id} was deleted while its INT8 bundle was made; nothing is kept.")
        if not _current(session, job_id, attempt):
            return False
        final = int8_path(workspace, version)
        replaced = final.stat().st_size if final.is_file() else 0
        os.replace(written, final)
        version.int8 = record
        version.size_bytes = version.size_bytes - replaced + final.stat().st_size
        return True
