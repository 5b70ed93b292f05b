"""Batch tests: a zip of images classified by a model version in a light job (jobs/batch_test_job.py).

The zip is checked (readable, within the archive limits, no unsafe entries, some images) before
any job exists, so a refused upload leaves nothing behind. Who may start one, follow it and
download its files: whoever may read the model's project (the project id is in the job's params,
so a batch test stays readable after its model version is deleted).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from classmill.infer.sources import is_image_name
from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.db.projects import Project
from classmill.server.errors import Invalid, NotFound
from classmill.server.jobs.batch_test_job import (BATCH_TEST_KIND, CSV_NAME, INPUT_NAME, RESULTS_FOLDER, SORTED_NAME,
                                                  batch_folder)
from classmill.server.jobs.executor import Executor
from classmill.server.services import jobs
from classmill.server.services.access import get_accessible
from classmill.server.services.imports import scan_uploaded_zip
from classmill.server.services.model_versions import bundle_path, get_model_version
from classmill.server.store.layout import StoreLayout

# (file in the results folder, media type, the download's name after the prefix)
_FILES = {"predictions.csv": (CSV_NAME, "text/csv; charset=utf-8"), "sorted.zip": (SORTED_NAME, "application/zip")}


def check_can_batch_test(session: Session, user: User, version_id: int) -> None:
    """404 for a model version the user cannot read: before a byte of the upload is read."""
    get_model_version(session, user, version_id)


def start_batch_test(session: Session, executor: Executor, layout: StoreLayout, user: User, version_id: int,
                     upload: Path) -> jobs.JobView:
    """Check the uploaded zip, move it into a folder of its own and queue the job; 4xx leaves nothing stored."""
    version = get_model_version(session, user, version_id)
    listing = scan_uploaded_zip(upload)
    if not any(is_image_name(member.name) for member in listing.members):
        raise Invalid("the zip holds no image files.", "Zip a folder of JPEG or PNG images; in class folders "
                      "(images/<class>/*.jpg) they also get an accuracy.", code="no_images")
    name = secrets.token_hex(8)
    folder = batch_folder(layout.workspace, {"folder": name})
    folder.mkdir(parents=True, mode=0o700)
    try:
        os.replace(upload, folder / INPUT_NAME)
        params = {"folder": name, "model_version_id": version.id, "project_id": version.project_id,
                  "model_number": version.number,
                  "bundle": bundle_path(layout.workspace, version).relative_to(layout.workspace).as_posix(),
                  "thresholds": dict(version.thresholds)}
        job = jobs.submit_job(session, executor, user, BATCH_TEST_KIND, params)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return jobs.JobView(job, jobs.queue_position(executor, job))


def get_batch_test(session: Session, executor: Executor, user: User, job_id: int) -> jobs.JobView:
    job = session.get(Job, job_id, populate_existing=True)
    missing = NotFound(f"there is no batch test {job_id}.",
                       "Use the id POST /api/v1/models/{id}/batch-tests answered with.", code="batch_test_not_found")
    if job is None or job.kind != BATCH_TEST_KIND:
        raise missing
    try:
        get_accessible(session, user, Project, int(job.params["project_id"]))
    except NotFound:
        raise missing from None
    return jobs.JobView(job, jobs.queue_position(executor, job))


def batch_test_file(session: Session, executor: Executor, user: User, job_id: int, name: str,
                    workspace: Path) -> tuple[Path, str, str]:
    """(path, media type, download name) of predictions.csv or sorted.zip of a finished batch test."""
    job = get_batch_test(session, executor, user, job_id).job
    if name not in _FILES:
        raise NotFound(f"a batch test has no file {name!r}.", "Ask for predictions.csv or sorted.zip.",
                       code="batch_test_file_not_found")
    filename, media = _FILES[name]
    path = batch_folder(workspace, job.params) / RESULTS_FOLDER / filename
    if job.state != "succeeded" or not path.is_file():
        raise NotFound(f"batch test {job_id} is {job.state}: its {name} is not there.",
                       "Wait until it has succeeded (GET /api/v1/batch-tests/{id}).", code="batch_test_not_ready")
    return path, media, f"model-v{job.params.get('model_number', '')}-batch-test-{job.id}-{name}"


def remove_orphan_batch_folders(session: Session, layout: StoreLayout) -> int:
    """At start: delete batch-test folders no job refers to (a crash between the upload's move and its job)."""
    root = layout.batch_tests
    if not root.is_dir():
        return 0
    known = {str((params or {}).get("folder")) for params in
             session.scalars(select(Job.params).where(Job.kind == BATCH_TEST_KIND))}
    removed = 0
    for entry in root.iterdir():
        if entry.is_dir() and entry.name not in known:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed
