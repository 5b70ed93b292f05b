"""Alembic, driven from code: `upgrade_database(url)` at server start and by `classmill server migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
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


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    return _scripts().get_current_head()


def revision_lineage(revision: str) -> list[str] | None:
    """`revision` and every revision before it, newest first; None when this classmill does not know it."""
    try:
        return [script.revision for script in _scripts().iterate_revisions(revision, "base")]
    except (RevisionError, CommandError):
        return None


def upgrade_to(engine: Engine, revision: str) -> None:
    """Bring the schema to `revision` exactly (a restore loads rows made at that revision)."""
    command.upgrade(alembic_config(engine), revision)
