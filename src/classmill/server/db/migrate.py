"""Alembic, driven from code: `upgrade_database(url)` at server start and by `classmill server migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from classmill.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    """A Config with no alembic.ini: the migrations folder ships inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine) -> str | None:
    """Bring the schema to the newest revision; returns the revision it was at before (None: empty)."""
    try:
        before = current_revision(engine)
    except OperationalError as exc:  # the first contact with the database: say which one and what to do
        shown = engine.url.render_as_string(hide_password=True)
        raise ConfigError(f"cannot open the database {shown}: {exc.orig}. Start the database or fix "
                          "CLASSMILL_DATABASE_URL (unset, it is a SQLite file in the workspace).") from exc
    command.upgrade(alembic_config(engine), "head")
    return before


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()
