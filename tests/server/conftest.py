"""Fixtures: every API test runs on SQLite and on the local PostgreSQL (see support/server_databases.py)."""

from __future__ import annotations

from typing import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from classmill.server.app import create_app
from classmill.server.db.base import Base
from classmill.server.db.datasets import DatasetVersion
from classmill.server.db.migrate import upgrade_database
from classmill.server.db.session import make_engine
from classmill.server.settings import Settings
from support.server_databases import fresh_database


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
        # a version's parent is RESTRICTed row by row, even within one DELETE: unlink parents first
        connection.execute(update(DatasetVersion).values(parent_id=None))
        for table in reversed(Base.metadata.sorted_tables):
            # A row pointing at another of its own table (a version's parent) must let go first.
            for column in {fk.parent for fk in table.foreign_keys if fk.column.table is table}:
                connection.execute(update(table).values({column.name: None}))
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
