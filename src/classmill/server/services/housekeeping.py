"""At server start: remove the files no row names any more (what a crash between files and rows leaves).

A model version's folder is written before its row (server/jobs/model_build.py), and a task's data
CSV before its task; a task's run folder and a version's folder are deleted after their rows. A
crash in between leaves files without a row — never the reverse — and this sweep removes them,
sparing the folder of an attempt that may still be writing it (a queued or running job's current
attempt).

A backup copies these folders after its database snapshot (services/backup); while it holds the
collection lock, deletions leave their files to the next sweep rather than pull files from under it.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from classmill.server.db.jobs import Job
from classmill.server.db.training import ModelVersion, Task
from classmill.server.jobs.model_build import MODELS_FOLDER, model_folder_name
from classmill.server.jobs.train_job import RUNS_FOLDER
from classmill.server.services.task_data import TASK_DATA_FOLDER
from classmill.server.store.collection_lock import collection_allowed
from classmill.server.store.layout import StoreLayout

log = logging.getLogger(__name__)
_TASK_RUN = re.compile(r"task-(\d+)")


def remove_after_rows(workspace: Path, paths: list[Path]) -> bool:
    """Delete the files of rows just deleted; False (files left to the next sweep) while a backup copies."""
    with collection_allowed(StoreLayout(Path(workspace)).root) as allowed:
        if allowed:
            for path in paths:
                _remove(path)
        return allowed


def remove_orphan_files(session: Session, workspace: Path) -> dict[str, int]:
    """Delete model folders, task data and task run folders that no row names; returns counts per kind."""
    workspace = Path(workspace)
    with collection_allowed(StoreLayout(workspace).root) as allowed:
        if not allowed:
            log.info("a backup is copying the workspace: files no row names are left to the next start")
            return {"model_folders": 0, "task_data": 0, "runs": 0}
        return _remove_orphans(session, workspace)


def _remove_orphans(session: Session, workspace: Path) -> dict[str, int]:
    active = session.execute(select(Job.id, Job.attempt).where(Job.state.in_(("queued", "running")))).all()
    keep_models = {Path(folder).name for folder in session.scalars(select(ModelVersion.folder))}
    keep_models |= {model_folder_name(job_id, attempt) for job_id, attempt in active}
    tasks = {task_id: job_id for task_id, job_id in session.execute(select(Task.id, Task.job_id))}
    keep_data = {Path(str((params or {}).get("options", {}).get("data", ""))).name
                 for params in session.scalars(select(Job.params).where(Job.id.in_(list(tasks.values()) or [-1])))}
    removed = {"model_folders": 0, "task_data": 0, "runs": 0}
    for folder in _children(workspace / MODELS_FOLDER):
        if folder.is_dir() and folder.name not in keep_models:
            removed["model_folders"] += _remove(folder)
    for path in _children(workspace / TASK_DATA_FOLDER):
        if path.name not in keep_data:
            removed["task_data"] += _remove(path)
    for folder in _children(workspace / RUNS_FOLDER):
        match = _TASK_RUN.fullmatch(folder.name)
        if match and int(match.group(1)) not in tasks:
            removed["runs"] += _remove(folder)
    if any(removed.values()):
        log.info("removed files no row names: %s", removed)
    return removed


def _children(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _remove(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return 1
