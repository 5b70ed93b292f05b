"""The work of one import attempt: check the source with the library, store its images, commit a version.

Runs in a job process of the executor (server/jobs/entry.py, kind "import", a light job): the
server's request threads never decode an image of an import, and an import outlives a server
restart (the next start re-attaches it). Progress goes to the Job row from the library's
classmill.progress events; only the attempt that claimed the job may write to it, so an attempt the
server gave up on (after a crash) can never commit anything.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from collections import defaultdict
from pathlib import Path

from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

import classmill.data
from classmill.data import DatasetReport
from classmill.errors import UserError
from classmill.progress import PhaseProgress
from classmill.server.db.base import utc_now
from classmill.server.db.datasets import DatasetVersion, VersionImage
from classmill.server.db.jobs import Job
from classmill.server.db.session import writing
from classmill.server.services.datasets import newest_version
from classmill.server.services.image_store import ImageFile, store_file
from classmill.server.services.imports import SERVER_STOPPED, fail_job, job_folder
from classmill.server.services.version_commit import NewVersion, VersionImageRow, commit_new_version
from classmill.server.store.layout import StoreLayout

log = logging.getLogger(__name__)
UPLOAD_NAME = "upload.zip"
CLASS_FILES = "files"


class ImportStopped(Exception):
    """The server is shutting down: the attempt ends as failed, to be retried."""


class StaleAttempt(Exception):
    """The job no longer belongs to this attempt (reconciled, or another attempt took it)."""


class ImportFailed(UserError):
    def __init__(self, reason: str, report: dict | None = None) -> None:
        super().__init__(reason)
        self.report = report


def run_import(sessions: sessionmaker[Session], layout: StoreLayout, job_id: int, attempt: str,
               stopping: threading.Event) -> None:
    """Claim the queued attempt, then run it to its end (succeeded or failed); never raises."""
    with sessions() as session:
        try:
            _claim(session, job_id, attempt)
        except StaleAttempt:  # its staging folder belongs to the attempt that holds the job: leave it
            log.warning("import job %s: attempt %s is stale; nothing done", job_id, attempt)
            return
    run_claimed_import(sessions, layout, job_id, attempt, stopping)


def run_claimed_import(sessions: sessionmaker[Session], layout: StoreLayout, job_id: int, attempt: str,
                       stopping: threading.Event) -> None:
    """Run an attempt this process has claimed (the job process's entry claims it) to its end; never raises."""
    with sessions() as session:
        job = session.get(Job, job_id, populate_existing=True)
        if job is None or job.attempt != attempt or job.state != "running":
            log.warning("import job %s: attempt %s is stale; nothing done", job_id, attempt)
            return
        params = dict(job.params)
        try:
            _import(session, layout, job_id, attempt, params, stopping)
        except StaleAttempt:
            log.warning("import job %s: attempt %s is stale; nothing committed", job_id, attempt)
        except ImportStopped:
            fail_job(session, job_id, attempt, SERVER_STOPPED)
        except ImportFailed as exc:
            fail_job(session, job_id, attempt, str(exc), {"report": exc.report} if exc.report else None)
        except UserError as exc:  # the library's refusals (not a zip, zip bomb, ...) are the reason, as written
            fail_job(session, job_id, attempt, str(exc))
        except Exception as exc:  # noqa: BLE001 - whatever broke, the job must end, with a reason
            log.exception("import job %s failed", job_id)
            fail_job(session, job_id, attempt, f"the import failed unexpectedly ({type(exc).__name__}: {exc}). "
                     "Retry it; if it fails again, report it with the server's log.")
        finally:
            shutil.rmtree(job_folder(layout, job_id), ignore_errors=True)


def _claim(session: Session, job_id: int, attempt: str) -> None:
    with writing(session):
        job = session.get(Job, job_id, populate_existing=True)
        if job is None or job.attempt != attempt or job.state != "queued":
            raise StaleAttempt()
        job.state, job.started_at, job.heartbeat_at = "running", utc_now(), utc_now()
        job.pid, job.host = os.getpid(), socket.gethostname()


def _progress(session: Session, job_id: int, attempt: str, stopping: threading.Event):
    def emit(event: dict) -> None:
        if stopping.is_set():
            raise ImportStopped()
        with writing(session):
            changed = session.execute(update(Job).where(Job.id == job_id, Job.attempt == attempt,
                                                        Job.state == "running").values(
                progress_phase=event["phase"], progress_done=event["done"], progress_total=event["total"],
                heartbeat_at=utc_now()))
            if changed.rowcount == 0:
                raise StaleAttempt()
    return emit


def _import(session: Session, layout: StoreLayout, job_id: int, attempt: str, params: dict,
            stopping: threading.Event) -> None:
    emit = _progress(session, job_id, attempt, stopping)
    folder = job_folder(layout, job_id)
    source = params["source"]
    if source == "upload":
        report = classmill.data.check(folder / UPLOAD_NAME, extract_dir=folder / "extracted", progress=emit)
    elif source == "server_path":
        path = Path(params["path"])
        extract = folder / "extracted" if path.suffix.lower() == ".zip" else None
        report = classmill.data.check(path, extract_dir=extract, progress=emit)
    else:
        report = classmill.data.check(folder / CLASS_FILES, progress=emit)
    report_dict = report.to_dict()
    _refuse_unusable(report, report_dict, source)
    entries, files = _entries_and_files(report, params)
    stored = _store_all(layout, files, {e.content_hash: e for e in entries}, report_dict, emit)
    entries = [e for e in entries if e.content_hash in stored]
    if not entries:
        raise ImportFailed("none of the images could be stored (see the report).", report_dict)
    new = _new_version(session, params, job_id, entries, [stored[h] for h in stored], report, report_dict)
    if stopping.is_set():
        raise ImportStopped()

    def finish(s: Session, version: DatasetVersion) -> None:
        job = s.get(Job, job_id, populate_existing=True)
        if job is None or job.attempt != attempt or job.state != "running":
            raise StaleAttempt()
        job.state, job.finished_at = "succeeded", utc_now()
        job.progress_phase, job.progress_done, job.progress_total = "done", len(new.entries), len(new.entries)
        job.result = {"version_id": version.id, "version": version.number, "image_count": version.image_count}

    commit_new_version(session, layout, new, before_commit=finish)


def _refuse_unusable(report: DatasetReport, report_dict: dict, source: str) -> None:
    unsafe = [p for p in report.errors if p.rule == "unsafe_archive_entry"]
    if unsafe:
        raise ImportFailed(f"the zip is unsafe: {unsafe[0].message}"
                           f"{f' (and {len(unsafe) - 1} more)' if len(unsafe) > 1 else ''}; nothing was imported. "
                           f"{unsafe[0].fix}", report_dict)
    if not report.dataset.records:
        first = "; ".join(p.message for p in report.errors[:3])
        shape = ("one folder per class (images/<label>/*.jpg), a CSV or PaddleClas lists"
                 if source != "class_images" else "JPEG or PNG images")
        raise ImportFailed(f"no usable images were found ({report.summary()}){': ' + first if first else ''}. "
                           f"Send {shape}; the report lists every file and why it was refused.", report_dict)


def _entries_and_files(report: DatasetReport, params: dict) -> tuple[list[VersionImageRow], dict[str, ImageFile]]:
    """One entry per distinct image (the check keeps same-label duplicates; a version holds a file once)."""
    rules: dict[str, list[str]] = defaultdict(list)
    for p in report.problems:
        if p.file:
            rules[p.file].append(p.rule)
    names = params.get("names", {})
    entries, files = [], {}
    for r in report.dataset.records:
        if r.content_hash in files:
            continue
        files[r.content_hash] = ImageFile(r.path, r.content_hash, r.size_bytes, r.format, r.width, r.height)
        entries.append(VersionImageRow(r.content_hash, r.label, r.split, names.get(r.ref, r.ref), rules.get(r.ref, [])))
    return entries, files


def _store_all(layout: StoreLayout, files: dict[str, ImageFile], entries: dict[str, VersionImageRow], report_dict: dict,
               emit) -> dict[str, ImageFile]:
    """Put every file and its thumbnail in the store; a file that cannot be decoded joins the report's errors."""
    meter = PhaseProgress("store", len(files), emit)
    stored = {}
    for content_hash, image in files.items():
        try:
            store_file(layout, image)
            stored[content_hash] = image
        except FileNotFoundError:  # collected by a concurrent garbage collection: the commit puts it back
            stored[content_hash] = image
        except (UserError, OSError, ValueError, Image.DecompressionBombError) as exc:
            name, label = entries[content_hash].original_name, entries[content_hash].label
            report_dict["errors"].append({
                "rule": "undecodable", "severity": "error", "file": name, "label": label,
                "message": f"{name}: could not be decoded for its thumbnail ({exc})",
                "fix": "Re-export the image from the original as JPEG or PNG."})
        meter.advance()
    return stored


def _new_version(session: Session, params: dict, job_id: int, entries: list[VersionImageRow],
                 files: list[ImageFile], report: DatasetReport, report_dict: dict) -> NewVersion:
    dataset_id, author_id = params["dataset_id"], params["author_id"]
    if params["source"] != "class_images":
        summary = f"imported {len(entries)} images in {len(report.dataset.classes)} classes"
        return NewVersion(dataset_id, author_id, None, entries, list(report.dataset.classes), summary,
                          report_dict, new_files=files)
    label = params["label"]
    parent = newest_version(session, dataset_id)
    kept = list(session.execute(select(VersionImage).where(VersionImage.version_id == parent.id)).scalars())
    held = {row.content_hash for row in kept}
    added = [e for e in entries if e.content_hash not in held]
    report_dict["scope"] = f"images added to class {label!r} (dataset-wide rules are not checked on a batch)"
    report_dict["errors"] = [p for p in report_dict["errors"] if p.get("file")]
    report_dict["warnings"] = [p for p in report_dict["warnings"] if p.get("file")]
    report_dict["already_in_dataset"] = [e.original_name for e in entries if e.content_hash in held]
    old = [VersionImageRow(r.content_hash, r.label, r.split, r.original_name, list(r.problems)) for r in kept]
    classes = list(parent.classes) + ([label] if label not in parent.classes else [])
    summary = f"added {len(added)} images to class {label!r}"
    return NewVersion(dataset_id, author_id, parent.id, old + added, classes, summary, report_dict,
                      split_settings=parent.split_settings, new_files=[f for f in files
                                                                       if f.content_hash not in held])
