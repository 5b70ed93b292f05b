"""Migrations build the schema from empty on both databases, and they agree with the models."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, inspect

from classmill.server.db.base import Base
from classmill.server.db.migrate import current_revision, head_revision, upgrade_database
from classmill.server.db.session import make_engine
from support.server_databases import fresh_database


def _diff(engine, metadata: MetaData) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_from_empty_matches_the_models(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            assert current_revision(engine) is None
            assert upgrade_database(engine) is None
            assert current_revision(engine) == head_revision()
            assert {"users", "api_tokens", "login_sessions"} <= set(inspect(engine).get_table_names())
            assert _diff(engine, Base.metadata) == []

            # The comparison can fail: a column the migrations never made shows up as a difference.
            changed = MetaData(naming_convention=Base.metadata.naming_convention)
            for table in Base.metadata.sorted_tables:
                table.to_metadata(changed)
            changed.tables["users"].append_column(Column("nickname", String(20)))
            assert any(op[0] == "add_column" for op in _diff(engine, changed))

            assert upgrade_database(engine) == head_revision()  # a second run changes nothing
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_servers_starting_together_migrate_once(backend, tmp_path):
    # Processes, as in real life: Alembic's context is process-global, so threads would share it.
    script = ("import sys; from classmill.server.db.session import make_engine; "
              "from classmill.server.db.migrate import upgrade_database; upgrade_database(make_engine(sys.argv[1]))")
    with fresh_database(backend, tmp_path) as url:
        starts = [subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE, text=True)
                  for _ in range(3)]
        failures = [p.stderr.read() for p in starts if p.wait(timeout=120) != 0]
        assert failures == []
        engine = make_engine(url)
        assert current_revision(engine) == head_revision()
        engine.dispose()
