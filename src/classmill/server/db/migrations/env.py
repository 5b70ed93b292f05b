"""Alembic environment: the engine comes from classmill (migrate.alembic_config), never from an ini file."""

from __future__ import annotations

from alembic import context

from classmill.server.db import models  # noqa: F401 - registers the tables on Base.metadata
from classmill.server.db.base import Base


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            # SQLite cannot ALTER most things; batch mode copies the table instead.
            render_as_batch=engine.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
