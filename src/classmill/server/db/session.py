"""Engines and transactions for SQLite (the embedded default) and PostgreSQL (psycopg 3).

SQLite settings follow Prefect's server: WAL so readers never block the writer, foreign keys on
(SQLite leaves them off), a busy timeout so a second writer waits instead of failing, and
BEGIN IMMEDIATE for transactions that read and then write: a deferred transaction that upgrades
to a writer after another writer committed fails at once with SQLITE_BUSY, whatever the timeout.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from classmill.errors import ConfigError
from classmill.server.db.filesystems import refuse_network_filesystem
from classmill.server.errors import Invalid

BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_OPTION = "classmill_sqlite_begin"

log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """An engine for `url` with the per-backend settings above; ConfigError for other databases."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            refuse_network_filesystem(Path(parsed.database))
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    elif backend == "postgresql":
        # pre_ping: a restarted PostgreSQL leaves dead pooled connections behind.
        engine = create_engine(url, pool_pre_ping=True)
    else:
        raise ConfigError(f"unsupported database {backend!r} in CLASSMILL_DATABASE_URL. "
                          "Use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db.")
    event.listen(engine, "handle_error", _refused_value)
    return engine


def _refused_value(context) -> Exception | None:
    """A value the database cannot hold (PostgreSQL text with a NUL, a number out of range) comes from
    a request: the caller's 422, not the server's 500. The database's words, naming SQL, stay in the log."""
    if not isinstance(context.sqlalchemy_exception, DataError):
        return None
    log.warning("the database refused a value: %s", str(context.original_exception).splitlines()[0])
    return Invalid("a value in the request cannot be stored or searched for (a NUL or other control "
                   "character, or a number out of range).",
                   "Remove control characters from names and filters, and send it again.", code="invalid_value")


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # Take BEGIN out of the driver's hands so _sqlite_on_begin decides DEFERRED or IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # The timeout first: switching a new file to WAL needs a lock another process may hold.
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    # In WAL mode NORMAL never corrupts the file; a power cut may lose only the last commits.
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_on_begin(connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: services return rows that routes read after the commit.
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def writing(session: Session, lock_name: str | None = None) -> Iterator[Session]:
    """A read-then-write transaction, committed on success and rolled back on error.

    On SQLite it starts with BEGIN IMMEDIATE (one writer at a time, taken before the first read).
    On PostgreSQL, `lock_name` takes a transaction-scoped advisory lock, for invariants that
    row locks cannot guard (e.g. "no user exists yet").
    """
    if session.in_transaction():
        session.commit()  # end any read snapshot: the write must read fresh rows under its lock
    session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    try:
        if lock_name and session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": lock_name})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
