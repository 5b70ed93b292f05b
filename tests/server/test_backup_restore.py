"""`classmill server backup` / `restore`: a workspace round-trips between SQLite and PostgreSQL, both ways.

The source is the usual test server (SQLite or PostgreSQL, from conftest's `settings`); the target
is a new workspace with a SQLite file or a fresh PostgreSQL schema. After the restore the app
starts on the target and is used as before: same passwords, cookies, CSRF tokens and API token,
same rows, same image bytes, and new rows get new ids.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, insert, select, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from classmill.cli import app as cli_app
from classmill.errors import UserError
from classmill.server.app import create_app
from classmill.server.db.base import Base, utc_now
from classmill.server.db.datasets import Dataset, DatasetVersion
from classmill.server.db.models import User
from classmill.server.db.migrate import current_revision, head_revision
from classmill.server.db.session import make_engine, writing
from classmill.server.services.backup import BackupDamaged, TargetNotEmpty, create_backup, restore_backup
from classmill.server.services.backup import create as create_module
from classmill.server.services.backup import restore as restore_module
from classmill.server.services.backup.create import read_snapshot
from classmill.server.services.backup.tables import plan_tables
from classmill.server.services.image_store import collect_garbage
from classmill.server.settings import Settings
from classmill.server.store.collection_lock import collection_paused
from classmill.server.store.layout import StoreLayout
from support.server_accounts import assert_problem, log_in
from support.server_databases import fresh_pg_schema
from support.server_datasets import store_image
from support.server_world import make_world

IMAGES = [("cat", None, "cats/tom.png"), ("cat", None, "cats/felix.png"), ("cat", None, "cats/garfield.png"),
          ("dog", None, "dogs/rex.png"), ("dog", None, "dogs/lassie.png"), ("dog", None, "dogs/snoopy.png")]


@pytest.fixture
def source(client, new_client, app, settings):
    """alice's dataset with versions 1 and 2 (a relabel: v2's parent is v1), a share with bob, an API
    token, and files beside the store: a run, a job log, and temporary ones a backup leaves out."""
    world = make_world(client, new_client, app, settings)
    dataset, v1, hashes = world.dataset("alice", "pets", IMAGES)
    edited = world.alice.post(f"/api/v1/datasets/{dataset.id}/versions/1/images/edit",
                              json={"relabel": [{"hashes": [hashes[0]], "label": "dog"}]})
    assert edited.status_code == 201, edited.text
    world.share(dataset.id, "bob", "read")
    token = world.alice.post("/api/v1/tokens", json={"name": "laptop"}).json()["token"]
    ws = settings.workspace
    _write(ws / "runs" / "run-1" / "events.jsonl", b'{"type": "epoch"}\n')
    _write(ws / "jobs" / "job-1" / "abc.log", b"import started\n")
    _write(ws / "staging" / "job-9" / "upload.zip", b"half an upload")
    _write(ws / "tmp" / "export-1-x.zip", b"half an export")
    _write(ws / "runs" / "run-1" / ".status.json.1234.tmp", b"half a write")
    garbage = "ab" * 16  # a file an import stored but never committed (no row): left out
    _write(world.store.images / garbage[:2] / f"{garbage}.png", b"not referenced")
    yield world, dataset, hashes, token, garbage
    world.db.close()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@contextmanager
def target_settings(backend: str, folder: Path) -> Iterator[Settings]:
    """A new workspace with an empty database: its own SQLite file, or a fresh PostgreSQL schema."""
    def settings(url: str | None) -> Settings:
        return Settings(workspace=folder / "restored", database_url=url, argon2_time_cost=1, argon2_memory_kib=64)

    if backend == "sqlite":
        yield settings(None)
    else:
        with fresh_pg_schema() as url:
            yield settings(url)


def all_rows(url: str) -> dict[str, list[dict]]:
    """Every row of every table, by primary key, as the models read them."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {table.name: [dict(row._mapping) for row in connection.execute(
                select(table).order_by(*table.primary_key.columns))] for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_a_workspace_round_trips_and_the_restored_server_works_as_before(source, settings, tmp_path, target):
    world, dataset, hashes, token, garbage = source
    backup = tmp_path / "backups" / "server.tar"
    backup.parent.mkdir()
    events = []
    made = create_backup(settings, backup, events.append)
    assert made.rows["users"] == 3 and made.rows["dataset_versions"] == 2 and made.missing_count == 0
    assert oct(backup.stat().st_mode & 0o777) == oct(0o600)  # password hashes and the session secret inside
    assert {e["phase"] for e in events} == {"backup_rows", "backup_files"}

    with target_settings(target, tmp_path) as restored:
        summary = restore_backup(restored, backup)
        assert summary.rows == made.rows and summary.files == made.files
        assert all_rows(restored.resolved_database_url) == all_rows(settings.resolved_database_url)

        ws = restored.workspace
        assert (ws / "session-secret").read_bytes() == (settings.workspace / "session-secret").read_bytes()
        assert (ws / "runs" / "run-1" / "events.jsonl").read_bytes() == b'{"type": "epoch"}\n'
        assert (ws / "jobs" / "job-1" / "abc.log").is_file()
        assert not (ws / "staging").exists() and not (ws / "tmp").exists()
        assert not (ws / "runs" / "run-1" / ".status.json.1234.tmp").exists()
        assert not StoreLayout(ws).blobs.exists(garbage)

        with TestClient(create_app(restored)) as fresh:
            # the old password logs in
            fresh.headers["X-CSRF-Token"] = fresh.post(
                "/api/v1/auth/login", json={"username": "alice", "password": "alice-password"}).json()["csrf_token"]
            listed = fresh.get("/api/v1/datasets").json()
            assert [d["name"] for d in listed["items"]] == ["pets"]
            versions = fresh.get(f"/api/v1/datasets/{dataset.id}/versions").json()["items"]
            assert [(v["number"], v["parent_id"]) for v in versions] == [(2, versions[1]["id"]), (1, None)]
            image = fresh.get(f"/api/v1/images/{hashes[3]}")
            assert image.status_code == 200
            assert image.content == world.store.blobs.path(hashes[3]).read_bytes()
            thumbnail = fresh.get(f"/api/v1/images/{hashes[3]}/thumbnail")
            assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
            # new rows get new ids: the sequences moved past the restored ones
            created = fresh.post("/api/v1/datasets", json={"name": "birds"})
            assert created.status_code == 201, created.text
            assert created.json()["id"] > dataset.id
            third = fresh.post(f"/api/v1/datasets/{dataset.id}/versions/2/classes", json={"name": "bird"})
            assert third.status_code == 201 and third.json()["id"] > versions[0]["id"], third.text
            # the API token still authenticates
            fresh.cookies.clear()  # the token alone
            me = fresh.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["username"] == "alice"

        # A browser logged in before the backup stays logged in: its session row and the CSRF key came along.
        with TestClient(create_app(restored), cookies=dict(world.alice.cookies)) as browser:
            browser.headers["X-CSRF-Token"] = world.alice.headers["X-CSRF-Token"]
            assert browser.get("/api/v1/me").json()["username"] == "alice"
            assert browser.post("/api/v1/tokens", json={"name": "after restore"}).status_code == 201


def test_rows_may_point_at_later_rows_of_their_own_table(source, settings, tmp_path):
    """Version 1's parent is version 2 here: rows go in by id, so its parent column must be set last."""
    world, dataset, _, _, _ = source
    versions = {v.number: v for v in world.db.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id))}
    with writing(world.db):
        world.db.execute(update(DatasetVersion).values(parent_id=None))
        world.db.execute(update(DatasetVersion).where(DatasetVersion.id == versions[1].id)
                         .values(parent_id=versions[2].id))
    backup = tmp_path / "server.tar"
    create_backup(settings, backup)
    with target_settings("postgresql", tmp_path) as restored:
        restore_backup(restored, backup)
        rows = all_rows(restored.resolved_database_url)["dataset_versions"]
        assert [(r["id"], r["parent_id"]) for r in rows] == [(versions[1].id, versions[2].id), (versions[2].id, None)]


def test_rows_the_target_refuses_roll_everything_back(source, settings, tmp_path):
    if make_url(settings.resolved_database_url).get_backend_name() != "sqlite":
        pytest.skip("only SQLite holds a NUL in text, which PostgreSQL refuses")
    world, dataset, _, _, _ = source
    with writing(world.db):
        world.db.get(Dataset, dataset.id).description = "a\x00b"
    backup = tmp_path / "server.tar"
    create_backup(settings, backup)
    with target_settings("postgresql", tmp_path) as restored:
        for _ in range(2):  # and a second attempt meets the same error, not "holds data already"
            with pytest.raises(UserError, match="refused a row of table datasets.*nothing was restored"):
                restore_backup(restored, backup)
        assert not any(all_rows(restored.resolved_database_url).values())
        assert [p for p in restored.workspace.rglob("*") if p.is_file()] == []


def test_a_failure_while_writing_files_takes_the_written_files_and_rows_away(source, settings, tmp_path,
                                                                             monkeypatch):
    backup = tmp_path / "server.tar"
    create_backup(settings, backup)
    real_write, calls = restore_module._write_file, []

    def failing_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_write(*args)

    monkeypatch.setattr(restore_module, "_write_file", failing_third)
    with target_settings("sqlite", tmp_path) as restored:
        with pytest.raises(OSError, match="No space left"):
            restore_backup(restored, backup)
        assert not any(all_rows(restored.resolved_database_url).values())
        assert [p.name for p in restored.workspace.rglob("*") if p.is_file()] == ["classmill.db"]
        monkeypatch.undo()
        assert restore_backup(restored, backup).rows["users"] == 3  # nothing left behind blocks a retry


def test_a_backup_of_an_older_schema_is_restored_at_it_then_migrated(client, settings, tmp_path, monkeypatch):
    """A backup made at revision 0001 (the accounts tables only): restored at 0001, then brought to head."""
    assert client.post("/api/v1/setup", json={"username": "old", "password": "old-password"}).status_code == 201
    accounts = MetaData()
    for name in ("users", "api_tokens", "login_sessions"):
        Base.metadata.tables[name].to_metadata(accounts)
    monkeypatch.setattr(create_module, "_checked_revision", lambda connection: "0001")
    monkeypatch.setattr(create_module, "Base", SimpleNamespace(metadata=accounts))
    backup = tmp_path / "old.tar"
    create_backup(settings, backup)
    monkeypatch.undo()
    with target_settings("sqlite", tmp_path) as restored:
        assert restore_backup(restored, backup).revision == "0001"
        engine = make_engine(restored.resolved_database_url)
        assert current_revision(engine) == head_revision()
        engine.dispose()
        with TestClient(create_app(restored)) as fresh:
            fresh.headers["X-CSRF-Token"] = log_in(fresh, "old", "old-password")
            assert fresh.post("/api/v1/datasets", json={"name": "new"}).status_code == 201  # a table 0001 lacked


def test_a_damaged_backup_is_refused_and_nothing_is_written(source, settings, tmp_path):
    world, _, hashes, _, _ = source
    backup = tmp_path / "server.tar"
    create_backup(settings, backup)
    image = world.store.blobs.path(hashes[2]).read_bytes()
    data = bytearray(backup.read_bytes())
    at = data.find(image)
    assert at > 0
    data[at + len(image) // 2] ^= 0xFF  # one bit-flipped image in the middle of the tar
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(data))
    cut = tmp_path / "cut.tar"
    cut.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])

    with target_settings("sqlite", tmp_path) as restored:
        with pytest.raises(BackupDamaged, match="does not match its checksum"):
            restore_backup(restored, damaged)
        with pytest.raises(BackupDamaged):
            restore_backup(restored, cut)
        with pytest.raises(UserError, match="no backup at"):
            restore_backup(restored, tmp_path / "nothing.tar")
        assert not restored.workspace.exists()  # not even the SQLite file


def test_a_backup_from_a_newer_schema_or_with_hostile_names_is_refused(source, settings, tmp_path):
    backup = tmp_path / "server.tar"
    create_backup(settings, backup)
    newer = _rewritten(backup, tmp_path / "newer.tar",
                       manifest=lambda m: m["database"].update(revision="9999_future"))
    hostile = _rewritten(backup, tmp_path / "hostile.tar", rename={"workspace/session-secret": "workspace/classmill.db"})
    with target_settings("sqlite", tmp_path) as restored:
        with pytest.raises(UserError, match="newer than this classmill knows"):
            restore_backup(restored, newer)
        with pytest.raises(BackupDamaged, match="classmill.db"):
            restore_backup(restored, hostile)
        assert not restored.workspace.exists()


def _rewritten(backup: Path, out: Path, *, manifest=None, rename: dict[str, str] | None = None) -> Path:
    """A copy of `backup` with the manifest edited or members renamed (checksums left as they are)."""
    rename = rename or {}
    with tarfile.open(backup) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "manifest.json" and manifest:
                loaded = json.loads(data)
                manifest(loaded)
                data = json.dumps(loaded).encode()
            elif member.name == "checksums.jsonl" and rename:
                data = data.replace(*(json.dumps(k).encode() for k in next(iter(rename.items()))))
            info = tarfile.TarInfo(rename.get(member.name, member.name))
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    if rename:  # the checksum list changed: its digest in the manifest follows, as a forger would do
        return _rewritten_digest(out)
    return out


def _rewritten_digest(path: Path) -> Path:
    import hashlib

    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    sums = next(data for m, data in members if m.name == "checksums.jsonl")
    fixed = path.with_name(f"fixed-{path.name}")
    with tarfile.open(fixed, "w") as tar:
        for member, data in members:
            if member.name == "manifest.json":
                loaded = json.loads(data)
                loaded["checksums"]["sha256"] = hashlib.sha256(sums).hexdigest()
                data = json.dumps(loaded).encode()
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return fixed


def test_a_target_with_data_is_refused_with_the_fix(source, settings, tmp_path):
    backup = tmp_path / "server.tar"
    create_backup(settings, backup)
    with target_settings("sqlite", tmp_path) as restored:
        restore_backup(restored, backup)
        with pytest.raises(TargetNotEmpty, match="holds data already.*new folder"):
            restore_backup(restored, backup)
    # A new workspace, but the database is the source's, which has rows: refused before anything is written.
    elsewhere = Settings(workspace=tmp_path / "other", database_url=settings.database_url)
    with pytest.raises(TargetNotEmpty, match="table .* has rows.*empty database"):
        restore_backup(elsewhere, backup)
    assert not elsewhere.workspace.exists()


def test_a_migrated_but_empty_database_is_a_fine_target(source, settings, tmp_path):
    backup = tmp_path / "server.tar"
    create_backup(settings, backup)
    with target_settings("postgresql", tmp_path) as restored:
        TestClient(create_app(restored)).__enter__().__exit__(None, None, None)  # a first start: schema, no rows
        summary = restore_backup(restored, backup)
        assert summary.rows["users"] == 3


def test_the_backup_is_one_snapshot(settings, client):
    """Rows committed after the backup's transaction began are not in it, on either backend."""
    engine = make_engine(settings.resolved_database_url)
    users = User.__table__
    try:
        with read_snapshot(engine) as snapshot:
            before = snapshot.scalar(select(users.c.id).limit(1))
            with engine.begin() as writer:
                writer.execute(insert(users).values(username="late", password_hash="x", role="member",
                                                    disabled=False, created_at=utc_now()))
            assert before is None
            assert snapshot.scalar(select(users.c.id).where(users.c.username == "late")) is None
    finally:
        engine.dispose()


def test_collection_waits_for_no_backup_but_skips_while_one_copies(settings, app):
    from classmill.server.state import STATE_ATTRIBUTE

    state = getattr(app.state, STATE_ATTRIBUTE)
    layout = StoreLayout(settings.workspace)
    with state.sessions() as session:
        orphan = store_image(session, layout, seed=7)  # no version refers to it
        with collection_paused(layout.root):
            assert collect_garbage(session, layout) == 0
            assert layout.blobs.exists(orphan)
        assert collect_garbage(session, layout) == 1
        assert not layout.blobs.exists(orphan)


def test_every_table_can_travel_and_self_references_are_set_last():
    plans = {plan.name: plan for plan in plan_tables(Base.metadata)}
    assert set(plans) == set(Base.metadata.tables)
    # the versions' parents (dataset and model versions) point into their own table: set after all rows are in
    assert {name: plan.deferred for name, plan in plans.items() if plan.deferred} == {
        "dataset_versions": ["parent_id"], "model_versions": ["parent_id"]}


def test_the_cli_backs_up_and_restores_a_workspace(tmp_path, monkeypatch):
    for name in [k for k in os.environ if k.startswith("CLASSMILL_")]:
        monkeypatch.delenv(name)
    source = tmp_path / "ws"
    created = CliRunner().invoke(cli_app, ["server", "create-admin", "--workspace", str(source), "--username", "boss",
                                           "--password", "boss-password"])
    assert created.exit_code == 0, created.output

    def classmill(*args: str) -> subprocess.CompletedProcess:
        # A process of its own: what it needs must be imported by the command, not by this test run.
        return subprocess.run([sys.executable, "-m", "classmill", "server", *args], capture_output=True, text=True,
                              env=dict(os.environ), timeout=120)

    backup = tmp_path / "b.tar"
    made = classmill("backup", str(backup), "--workspace", str(source))
    assert made.returncode == 0, made.stderr
    assert f"backup written to {backup}: 1 rows" in made.stdout
    again = classmill("backup", str(backup), "--workspace", str(source))
    assert again.returncode == 2 and "exists already" in again.stderr
    inside = classmill("backup", str(source / "b.tar"), "--workspace", str(source))
    assert inside.returncode == 2 and "inside the workspace" in inside.stderr

    restored = classmill("restore", str(backup), "--workspace", str(tmp_path / "new"))
    assert restored.returncode == 0, restored.stderr
    assert "restored 1 rows" in restored.stdout
    twice = classmill("restore", str(backup), "--workspace", str(tmp_path / "new"))
    assert twice.returncode == 2 and "holds data already" in twice.stderr and "Traceback" not in twice.stderr
    with TestClient(create_app(Settings(workspace=tmp_path / "new"))) as client:
        login = client.post("/api/v1/auth/login", json={"username": "boss", "password": "boss-password"})
        assert login.status_code == 200 and login.json()["user"]["role"] == "admin"
        assert_problem(client.post("/api/v1/auth/login", json={"username": "boss", "password": "wrong"}), 401)
