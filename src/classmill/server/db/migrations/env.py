"""Alembic environment: the engine comes from classmill (migrate.alembic_config), never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from classmill.server.db import models  # noqa: F401 - registers the tables on Base.metadata
from classmill.server.db.base import Base
from classmill.server.db.session import SQLITE_BEGIN_OPTION

_LOCK = "classmill.migrations"


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        # Two servers starting at once must not both create the tables: the second waits for the
        # first's transaction (the write lock on SQLite, an advisory lock on PostgreSQL), then
        # finds the schema at head. DDL is transactional on both, so a failed step leaves nothing.
        if engine.dialect.name == "sqlite":
            connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            # SQLite cannot ALTER most things; batch mode copies the table instead.
            render_as_batch=engine.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": _LOCK})
            context.run_migrations()
        connection.commit()


run_migrations()
