"""Engine settings and write transactions: SQLite pragmas, and the first-admin race on both databases."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from classmill.errors import ConfigError
from classmill.server.db import filesystems
from classmill.server.db.filesystems import filesystem_type

from classmill.server.db.session import BUSY_TIMEOUT_MS, make_engine, session_factory
from classmill.server.errors import Conflict
from classmill.server.services import users
from classmill.server.services.paging import PageRequest
from classmill.server.services.passwords import Passwords


def test_sqlite_connections_get_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
    engine.dispose()


def test_concurrent_first_run_setups_create_exactly_one_admin(settings):
    engine = make_engine(settings.resolved_database_url)
    sessions, passwords = session_factory(engine), Passwords(1, 64)
    start, outcomes = threading.Barrier(4), []

    def set_up(i: int) -> None:
        with sessions() as session:
            start.wait()
            try:
                users.create_first_admin(session, passwords, f"admin{i}", "admin-password")
                outcomes.append("created")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=set_up, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with sessions() as session:
        admins = users.list_users(session, PageRequest(limit=10, offset=0)).rows
    engine.dispose()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"]
    assert len(admins) == 1


MOUNTS = """\
/dev/sda1 / ext4 rw 0 0
server:/export /mnt/shared nfs4 rw 0 0
/dev/sdb1 /mnt/shared/local\\040disk ext4 rw 0 0
"""


def test_the_file_system_of_a_folder_is_its_longest_mount_point():
    assert filesystem_type(Path("/home/me/ws"), MOUNTS) == "ext4"
    assert filesystem_type(Path("/mnt/shared/team/ws"), MOUNTS) == "nfs4"
    assert filesystem_type(Path("/mnt/shared/local disk/ws"), MOUNTS) == "ext4"
    assert filesystem_type(Path("/mnt/sharedother"), MOUNTS) == "ext4"  # a prefix of the name is not inside


def test_sqlite_on_a_network_file_system_is_refused(tmp_path, monkeypatch):
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/x {tmp_path} nfs rw 0 0\n")
    monkeypatch.setattr(filesystems, "MOUNTS", mounts)
    with pytest.raises(ConfigError, match="network file system"):
        make_engine(f"sqlite:///{tmp_path / 'ws' / 'classmill.db'}")
