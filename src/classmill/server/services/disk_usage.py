"""Disk use: what each dataset, model version and task run holds, and (for admins) the workspace's folders.

A dataset counts each stored file its versions refer to once; a file shared by two datasets counts
in both (deleting one dataset frees only what no other version refers to). Model versions count
their folder (recorded when built); a task's run folder (checkpoints, the bulk of training) is
measured now.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classmill.server.db.datasets import Dataset, DatasetVersion, StoredImage, VersionImage
from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.db.projects import Project
from classmill.server.db.training import ModelVersion, Task
from classmill.server.jobs.train_job import run_folder
from classmill.server.services.access import visible

WORKSPACE_FOLDERS = ("store", "models", "runs", "jobs", "task-data", "staging", "tmp")


def folder_bytes(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def disk_usage(session: Session, user: User, workspace: Path) -> dict:
    datasets = []
    for dataset in session.scalars(visible(select(Dataset), user, Dataset).order_by(Dataset.id)):
        files = (select(VersionImage.content_hash).join(DatasetVersion, DatasetVersion.id == VersionImage.version_id)
                 .where(DatasetVersion.dataset_id == dataset.id).distinct().subquery())
        count, size = session.execute(select(func.count(), func.coalesce(func.sum(StoredImage.size_bytes), 0))
                                      .where(StoredImage.content_hash.in_(select(files.c.content_hash)))).one()
        datasets.append({"id": dataset.id, "name": dataset.name, "files": count, "bytes": int(size)})
    projects = select(Project.id).where(Project.id.in_(visible(select(Project.id), user, Project).scalar_subquery()))
    models = [{"id": m.id, "project_id": m.project_id, "number": m.number, "bytes": m.size_bytes}
              for m in session.scalars(select(ModelVersion).where(ModelVersion.project_id.in_(projects))
                                       .order_by(ModelVersion.id))]
    runs = []
    for task, params in session.execute(select(Task, Job.params).join(Job, Job.id == Task.job_id)
                                        .where(Task.project_id.in_(projects)).order_by(Task.id)):
        runs.append({"task_id": task.id, "project_id": task.project_id,
                     "bytes": folder_bytes(run_folder(workspace, params))})
    answer = {"datasets": datasets, "model_versions": models, "task_runs": runs}
    if user.is_admin:
        answer["workspace"] = {name: folder_bytes(Path(workspace) / name) for name in WORKSPACE_FOLDERS}
    return answer
