"""Restart and storage safety: reconciling imports a dead process left, and garbage collection racing an import."""

from __future__ import annotations

import subprocess
import sys
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from classmill.server.db.datasets import Dataset, DatasetVersion, StoredImage
from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.db.session import make_engine, session_factory
from classmill.server.services.image_store import ImageFile, collect_garbage, store_file
from classmill.server.services.import_job import run_import
from classmill.server.services.imports import SERVER_STOPPED, begin_import, job_folder, reconcile_imports
from classmill.server.services.version_commit import NewVersion, VersionImageRow, commit_new_version
from classmill.server.store.layout import StoreLayout
from classmill.server.store.thumbnails import thumbnail_path
from classmill.data.probe import content_hash
from support.images import noise, save
from support.server_imports import class_zip


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _setup(session: Session) -> tuple[User, Dataset]:
    user = User(username="owner", password_hash="x", role="admin")
    session.add(user)
    session.flush()
    dataset = Dataset(owner_id=user.id, name="d", status="importing")
    session.add(dataset)
    session.commit()
    return user, dataset


def _image(tmp_path, seed: int) -> ImageFile:
    path = save(noise((40, 40), seed=seed), tmp_path / f"img{seed}.png")
    return ImageFile(path, content_hash(path.read_bytes()), path.stat().st_size, "PNG", 40, 40)


def test_restart_fails_imports_of_dead_processes_and_clears_staging(settings, tmp_path):
    engine = make_engine(settings.resolved_database_url)
    layout = StoreLayout(settings.workspace)
    with Session(engine) as session:
        user, dataset = _setup(session)
        job = Job(kind="import", attempt="a" * 32, owner_id=user.id, dataset_id=dataset.id, state="running",
                  pid=_dead_pid(), params={})
        session.add(job)
        session.commit()
        (layout.staging / f"job-{job.id}" / "extracted").mkdir(parents=True)
        (layout.staging / f"upload-{_dead_pid()}-abc.partial").write_bytes(b"PK")
        orphan = _image(tmp_path, 1)
        store_file(layout, orphan)  # stored by the dead import, never committed

        assert reconcile_imports(session, layout) == 1
        session.refresh(job)
        session.refresh(dataset)
        assert (job.state, job.error) == ("failed", SERVER_STOPPED)
        assert (dataset.status, dataset.status_reason) == ("failed", SERVER_STOPPED)
        assert list(layout.staging.iterdir()) == []
        assert not layout.blobs.exists(orphan.content_hash)
        assert not thumbnail_path(layout.thumbnails, orphan.content_hash).exists()
    engine.dispose()


def test_collection_between_store_and_commit_cannot_leave_a_version_without_its_file(settings, tmp_path):
    engine = make_engine(settings.resolved_database_url)
    layout = StoreLayout(settings.workspace)
    with Session(engine) as session:
        user, dataset = _setup(session)
        image = _image(tmp_path, 2)
        store_file(layout, image)  # the import stored it ...
        assert collect_garbage(session, layout) == 1  # ... and collection ran before its commit
        assert not layout.blobs.exists(image.content_hash)
        new = NewVersion(dataset.id, user.id, None, [VersionImageRow(image.content_hash, "ok", None, "ok/a.png")],
                         ["ok"], "imported", {}, new_files=[image])
        version = commit_new_version(session, layout, new)
        assert layout.blobs.exists(image.content_hash)  # the commit put it back
        assert thumbnail_path(layout.thumbnails, image.content_hash).exists()
        assert collect_garbage(session, layout) == 0  # referenced now: it stays
        assert session.scalar(select(StoredImage.content_hash)) == image.content_hash
        assert session.get(DatasetVersion, version.id).image_count == 1
        session.refresh(dataset)
        assert dataset.status == "ready"
    engine.dispose()


def _queued_upload_import(session: Session, layout: StoreLayout, tmp_path) -> Job:
    user, dataset = _setup(session)
    dataset.status = "empty"
    session.commit()
    job = begin_import(session, user, dataset.id, {"source": "upload"})
    folder = job_folder(layout, job.id)
    folder.mkdir(parents=True)
    class_zip(tmp_path, {"ok": 3, "ng": 3}).rename(folder / "upload.zip")
    return job


def test_an_import_stopped_by_shutdown_fails_for_a_retry_and_a_stale_attempt_changes_nothing(settings, tmp_path):
    engine = make_engine(settings.resolved_database_url)
    layout = StoreLayout(settings.workspace)
    sessions = session_factory(engine)
    with sessions() as session:
        job = _queued_upload_import(session, layout, tmp_path)
        run_import(sessions, layout, job.id, "b" * 32, threading.Event())  # not this job's attempt
        session.refresh(job)
        assert job.state == "queued"
        assert (job_folder(layout, job.id) / "upload.zip").is_file()  # the real attempt's input is untouched

        stopping = threading.Event()
        stopping.set()
        run_import(sessions, layout, job.id, job.attempt, stopping)
        session.commit()  # end this session's read snapshot
        session.refresh(job)
        assert (job.state, job.error) == ("failed", SERVER_STOPPED)
        assert session.get(Dataset, job.dataset_id, populate_existing=True).status == "failed"
        assert not job_folder(layout, job.id).exists()
        assert session.scalar(select(DatasetVersion.id)) is None
    engine.dispose()


def test_an_import_recorded_by_another_machine_fails_once_silent_and_is_left_while_it_beats(settings):
    from datetime import timedelta

    from classmill.server.db.base import utc_now

    engine = make_engine(settings.resolved_database_url)
    layout = StoreLayout(settings.workspace)
    with Session(engine) as session:
        user, dataset = _setup(session)
        other = Dataset(owner_id=user.id, name="other", status="importing")
        session.add(other)
        session.flush()
        # the workspace was restored from a backup made on another machine mid-import (pid 1 lives here)
        silent = Job(kind="import", attempt="b" * 32, owner_id=user.id, dataset_id=dataset.id, state="running",
                     pid=1, host="old-machine", params={}, heartbeat_at=utc_now() - timedelta(minutes=30))
        beating = Job(kind="import", attempt="c" * 32, owner_id=user.id, dataset_id=other.id, state="running",
                      pid=1, host="other-live-server", params={}, heartbeat_at=utc_now())
        session.add_all([silent, beating])
        session.commit()
        assert reconcile_imports(session, layout, heartbeat_timeout_s=120) == 1
        session.refresh(silent)
        session.refresh(beating)
        assert silent.state == "failed" and beating.state == "running"
    engine.dispose()
