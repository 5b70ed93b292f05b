"""Fixtures: every API test runs on SQLite and on the local PostgreSQL.

PostgreSQL (127.0.0.1:5432, database `test`, trust auth; override with CLASSMILL_TEST_POSTGRES_URL)
must be reachable: CI has it, so an unreachable server fails these tests instead of skipping them.
Each test session works in its own randomly named schema and drops it at the end; nothing else
in the database is touched.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url

from classmill.server.app import create_app
from classmill.server.db.base import Base
from classmill.server.db.migrate import upgrade_database
from classmill.server.db.session import make_engine
from classmill.server.settings import Settings

PG_URLS = [os.environ["CLASSMILL_TEST_POSTGRES_URL"]] if os.environ.get("CLASSMILL_TEST_POSTGRES_URL") else [
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
]


def _reachable_pg_url() -> str:
    errors = []
    for url in PG_URLS:
        engine = create_engine(url)
        try:
            with engine.connect():
                return url
        except Exception as exc:  # noqa: BLE001 - report every attempt below
            errors.append(f"{make_url(url).render_as_string(hide_password=True)}: {exc}")
        finally:
            engine.dispose()
    pytest.fail("PostgreSQL is not reachable; the server tests need it (CI provides it):\n" + "\n".join(errors))


@contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A new, empty schema; yields a URL whose connections use it. Dropped afterwards."""
    base = _reachable_pg_url()
    schema = f"classmill_test_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield str(make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False))
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'classmill-{secrets.token_hex(4)}.db'}"
    else:
        with fresh_pg_schema() as url:
            yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_url(request, tmp_path_factory) -> Iterator[str]:
    """One migrated database per backend for the whole session (tests empty it, see `settings`)."""
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        engine = make_engine(url)
        upgrade_database(engine)
        engine.dispose()
        yield url


def _empty_tables(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))
    engine.dispose()


@pytest.fixture
def settings(migrated_url, tmp_path) -> Settings:
    _empty_tables(migrated_url)
    # Cheap argon2 so tests stay fast; the production cost is argon2-cffi's default.
    return Settings(workspace=tmp_path / "workspace", database_url=migrated_url, migrate_on_start=False,
                    argon2_time_cost=1, argon2_memory_kib=64, login_attempts=3, login_window_s=60)


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def new_client(app):
    """Opens further clients on the same app (other browsers: their own cookie jars)."""
    opened = []

    def make(**options) -> TestClient:
        c = TestClient(app, **options)
        opened.append(c)
        return c.__enter__()

    yield make
    for c in opened:
        c.__exit__(None, None, None)
