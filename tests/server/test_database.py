"""Engine settings and write transactions: SQLite pragmas, and the first-admin race on both databases."""

from __future__ import annotations

import threading

from sqlalchemy import text

from classmill.server.db.session import BUSY_TIMEOUT_MS, make_engine, session_factory
from classmill.server.errors import Conflict
from classmill.server.services import users
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
        admins = users.list_users(session)
    engine.dispose()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"]
    assert len(admins) == 1
