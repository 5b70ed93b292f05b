"""Starting dataset imports, their staging folders, and reconciling them after a restart.

An import is a Job row (kind "import") plus a staging folder `<workspace>/staging/job-<id>/`
holding what it reads (an uploaded zip and its extraction, or images for one class). The work
itself is services/import_job.py. Nothing of an import is visible until its final transaction
(services/version_commit.py), so a failed or killed import leaves only a failed job behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from datetime import timedelta
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from classmill.data.labels import label_name_problem
from classmill.data.readers.lists import PADDLE_LIST_FILES
from classmill.data.readers.zip_safety import ArchiveError, ArchiveLimits, ArchiveListing, open_archive, scan_archive
from classmill.server.db.base import utc_now
from classmill.server.db.datasets import Dataset, DatasetVersion
from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.db.session import writing
from classmill.server.errors import Conflict, Forbidden, NotFound, ServiceError
from classmill.server.jobs.executor import Executor
from classmill.server.services.access import get_accessible
from classmill.server.services.datasets import ACTIVE_JOB_STATES
from classmill.server.services.image_store import collect_garbage
from classmill.server.store.layout import StoreLayout
from classmill.server.processes import process_alive

# Whatever ended it (a server or machine stop, a kill, running out of memory): nothing of it was kept.
SERVER_STOPPED = "the import stopped before it finished (its process ended: a server or machine stop, a kill, or " \
    "no memory left); nothing of it was kept: retry it."
_PARTIAL_PREFIX = "upload-"
_LIST_FILES = ("labels.txt", *PADDLE_LIST_FILES.values())


def job_folder(layout: StoreLayout, job_id: int) -> Path:
    return layout.staging / f"job-{job_id}"


def new_partial_upload(layout: StoreLayout) -> Path:
    """A private name in staging for an upload still arriving; its pid tells a restart whose it is."""
    layout.staging.mkdir(parents=True, exist_ok=True, mode=0o700)
    return layout.staging / f"{_PARTIAL_PREFIX}{os.getpid()}-{secrets.token_hex(8)}.partial"


def check_can_import(session: Session, user: User, dataset_id: int) -> Dataset:
    """The dataset, if the user may write it and no import into it is under way (before reading a body)."""
    dataset = get_accessible(session, user, Dataset, dataset_id, write=True)
    if session.scalar(select(exists().where(Job.dataset_id == dataset_id, Job.state.in_(ACTIVE_JOB_STATES)))):
        raise Conflict(f"dataset {dataset_id} already has an import under way.",
                       "Wait for it to finish (GET /api/v1/jobs/{id}), then send this one.", code="import_running")
    return dataset


def check_class_label(label: str) -> str:
    reason = label_name_problem(label)
    if reason or label.startswith("."):
        raise ServiceError(f"label {label!r} {reason or 'starts with a dot (hidden files are ignored)'}.",
                           "Use a class name without slashes, control characters or leading dots.",
                           code="invalid_label")
    return label


def scan_uploaded_zip(path: Path, name: str = "the upload") -> ArchiveListing:
    """The zip's safe entries, or a 400 at once, from the zip's directory alone: not a readable zip (or
    cut short: the directory is at its end), over the archive limits (a zip bomb, too many entries),
    unsafe entries (zip-slip, absolute paths, links). Cheap, so the client hears it before a job exists."""
    try:
        with open_archive(path) as archive:
            listing = scan_archive(archive, path, ArchiveLimits())
    except ArchiveError as exc:
        raise ServiceError(str(exc).replace(path.name, name), "Re-create the zip from the image folder "
                           "(e.g. images/<label>/*.jpg) with a standard zip tool.", code="bad_archive") from None
    unsafe = [p.file for p in listing.errors if p.rule == "unsafe_archive_entry"]
    if unsafe:
        raise ServiceError(f"{name} has entries that point outside it or are links: {', '.join(unsafe[:5])}.",
                           "Re-create the zip from the image folder itself so every entry is a plain relative "
                           "path.", code="unsafe_archive")
    return listing


def check_uploaded_zip(path: Path, name: str = "the upload") -> None:
    """Refuse at once (400) what no import could use: what scan_uploaded_zip refuses, or no image in a folder."""
    listing = scan_uploaded_zip(path, name)
    if not any(len(m.parts) >= 2 or m.parts[-1].lower().endswith(".csv") or m.parts[-1] in _LIST_FILES
               for m in listing.members):
        raise ServiceError(f"{name} holds no class folders: no image is inside a folder named after its class.",
                           "Zip the dataset folder so images sit in images/<label>/*.jpg (or add a CSV or "
                           "PaddleClas lists).", code="no_class_folders")


def begin_import(session: Session, user: User, dataset_id: int, params: dict) -> Job:
    """Record a queued import job and mark the dataset importing, in one transaction.

    params: {"source": "upload" | "server_path" | "class_images", ...}; a class import needs a version.
    """
    with writing(session, lock_name=f"classmill.dataset-import.{dataset_id}"):
        dataset = check_can_import(session, user, dataset_id)
        session.refresh(dataset)
        has_version = session.scalar(select(exists().where(DatasetVersion.dataset_id == dataset_id)))
        if params["source"] == "class_images" and not has_version:
            raise Conflict(f"dataset {dataset_id} has no version to add images to yet.",
                           "Import a zip or a folder of class folders first.", code="dataset_empty")
        job = Job(kind="import", attempt=secrets.token_hex(16), owner_id=user.id, dataset_id=dataset_id,
                  params={**params, "dataset_id": dataset_id, "author_id": user.id}, state="queued", progress_phase="queued")
        session.add(job)
        dataset.status, dataset.status_reason, dataset.updated_at = "importing", "", utc_now()
        session.flush()
    return job


def import_server_path(session: Session, executor: Executor, roots: list[Path], admin: User, dataset_id: int,
                       text: str) -> Job:
    """Start importing `text` (confined to the import roots) into the dataset: the API's and the page's one way."""
    path = confine_server_path(roots, text)
    job = begin_import(session, admin, dataset_id, {"source": "server_path", "path": str(path)})
    executor.submit(job.id, job.attempt, job.kind)
    return job


def confine_server_path(roots: list[Path], text: str) -> Path:
    """The real path of `text` if it lies under one of the configured import roots; 4xx naming it otherwise."""
    if not roots:
        raise Forbidden("importing from the server's disk is switched off (no import roots configured).",
                        "Set CLASSMILL_IMPORT_ROOTS to a JSON list of folders, e.g. '[\"/data/datasets\"]'.",
                        code="no_import_roots")
    raw = Path(text)
    if not raw.is_absolute() or ".." in raw.parts or "\x00" in text:  # a NUL makes every os call raise
        raise ServiceError(f"{text!r} is not an absolute path without '..' (or NUL characters).",
                           "Give the full path of a folder, CSV or list folder under an import root.",
                           code="path_not_allowed")
    real = raw.resolve()
    allowed = [root.resolve() for root in roots]
    if not any(real == root or real.is_relative_to(root) for root in allowed):
        raise Forbidden(f"{text!r} is outside the import roots (it resolves to {str(real)!r}).",
                        "Put the dataset under one of: " + ", ".join(str(r) for r in allowed) + ".",
                        code="path_not_allowed")
    if not real.exists():
        raise NotFound(f"{text!r} does not exist on the server.", "Check the path.", code="path_not_found")
    return real


def get_job(session: Session, user: User, job_id: int) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    if job is not None and (user.is_admin or job.owner_id == user.id):
        return job
    if job is not None and job.dataset_id is not None:
        try:
            get_accessible(session, user, Dataset, job.dataset_id)
            return job
        except NotFound:
            pass
    raise NotFound(f"there is no job {job_id}.", "Use the job id an import answered with.", code="job_not_found")


def fail_job(session: Session, job_id: int, attempt: str, reason: str, result: dict | None = None) -> None:
    """Mark the attempt failed and put its dataset back (ready if it has versions, failed otherwise)."""
    with writing(session):
        job = session.get(Job, job_id, populate_existing=True)
        if job is None or job.attempt != attempt or job.state not in ACTIVE_JOB_STATES:
            return  # a stale attempt changes nothing
        _fail(session, job, reason, result)


def remove_lost_import_files(session: Session, workspace: Path, job_id: int) -> None:
    """After an import's process died mid-way: its staging folder, and the files it stored but never committed."""
    layout = StoreLayout(Path(workspace))
    shutil.rmtree(job_folder(layout, job_id), ignore_errors=True)
    collect_garbage(session, layout)


def fail_import(session: Session, job: Job, reason: str, result: dict | None = None) -> None:
    """Inside a transaction: the import job failed (with the reason) and its dataset's status follows."""
    _fail(session, job, reason, result)


def _fail(session: Session, job: Job, reason: str, result: dict | None = None) -> None:
    job.state, job.error, job.finished_at = "failed", reason, utc_now()
    if result is not None:
        job.result = result
    dataset = session.get(Dataset, job.dataset_id, populate_existing=True)
    if dataset is not None:
        has_version = session.scalar(select(exists().where(DatasetVersion.dataset_id == dataset.id)))
        dataset.status = "ready" if has_version else "failed"
        dataset.status_reason = "" if has_version else reason
        dataset.updated_at = utc_now()


def reconcile_imports(session: Session, layout: StoreLayout, heartbeat_timeout_s: float = 120,
                      executor: Executor | None = None) -> int:
    """At start: re-attach imports whose process still runs here, fail those whose process is gone (and
    queued ones: their upload may be cut short), clear staging leftovers; returns jobs failed.

    An import recorded by another machine counts as gone once silent for heartbeat_timeout_s (a
    workspace restored elsewhere must not keep it "running" forever).
    """
    host = socket.gethostname()
    stale_before = utc_now() - timedelta(seconds=heartbeat_timeout_s)
    failed = 0
    with writing(session):
        for job in session.scalars(select(Job).where(Job.kind == "import", Job.state.in_(ACTIVE_JOB_STATES))):
            beating = job.heartbeat_at is not None and job.heartbeat_at >= stale_before
            if job.host not in ("", host) and beating:
                continue  # another live server runs it
            if job.state == "running" and job.host == host and job.pid not in (None, os.getpid()) \
                    and process_alive(job.pid):
                if executor is not None:  # its job process outlived a server restart: count it, watch its end
                    executor.adopt(job.id, job.attempt, job.kind, job.pid)
                continue
            _fail(session, job, SERVER_STOPPED)
            failed += 1
    active = set(session.scalars(select(Job.id).where(Job.kind == "import", Job.state.in_(ACTIVE_JOB_STATES))))
    session.commit()
    if layout.staging.is_dir():
        for entry in layout.staging.iterdir():
            if _leftover(entry, active):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink(missing_ok=True)
    collect_garbage(session, layout)  # files a killed import stored but never committed
    return failed


def _leftover(entry: Path, active_jobs: set[int]) -> bool:
    name = entry.name
    if name.startswith("job-") and name[4:].isdigit():
        return int(name[4:]) not in active_jobs
    if name.startswith(_PARTIAL_PREFIX):
        pid = name[len(_PARTIAL_PREFIX):].split("-", 1)[0]
        return not (pid.isdigit() and int(pid) != os.getpid() and process_alive(int(pid)))
    return True

