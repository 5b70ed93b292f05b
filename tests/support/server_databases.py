"""Throwaway databases for the server tests: a SQLite file, or a PostgreSQL schema of their own.

PostgreSQL (127.0.0.1:5432, database `test`, trust auth; override with CLASSMILL_TEST_POSTGRES_URL)
must be reachable: CI has it, so an unreachable server fails these tests instead of skipping them.
Each schema has a random name and is dropped afterwards; nothing else in the database is touched.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

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
