"""`create_backup`: the database as of one snapshot, and the workspace's files, into one tar."""

from __future__ import annotations

import gzip
import os
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.engine import make_url

from classmill import __version__, atomic
from classmill.errors import ConfigError, UserError
from classmill.progress import PhaseProgress, ProgressCallback
from classmill.server.db import models  # noqa: F401 - registers every table on Base.metadata
from classmill.server.db.base import Base, utc_now
from classmill.server.db.datasets import StoredImage
from classmill.server.db.migrate import head_revision
from classmill.server.db.session import make_engine
from classmill.server.services.backup.archive import FILES_PREFIX, ArchiveWriter, table_member
from classmill.server.services.backup.tables import count_rows, dump_rows, plan_tables
from classmill.server.services.backup.workspace_files import WorkspaceFiles
from classmill.server.settings import Settings
from classmill.server.store.collection_lock import collection_paused
from classmill.server.store.layout import StoreLayout
from classmill.server.store.thumbnails import thumbnail_path

_MISSING_LISTED = 100


@dataclass
class BackupSummary:
    path: Path
    revision: str
    rows: dict[str, int]
    files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)  # the first files that were not there to copy
    missing_count: int = 0

    def note_missing(self, relative: str) -> None:
        self.missing_count += 1
        if len(self.missing) < _MISSING_LISTED:
            self.missing.append(relative)


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(os.path.abspath(parsed.database))


def create_backup(settings: Settings, out: Path, on_progress: ProgressCallback | None = None) -> BackupSummary:
    """Write the backup of `settings`' workspace and database to `out` (a new file, outside the workspace).

    Safe while the server runs: the rows come from one read snapshot, and garbage collection is
    held off until every file that snapshot refers to is copied.
    """
    out = Path(os.path.abspath(out))
    workspace = settings.workspace
    _check_output(out, workspace)
    if not workspace.is_dir():
        raise ConfigError(f"there is no workspace at {workspace}. Give the server's --workspace (or CLASSMILL_WORKSPACE).")
    layout = StoreLayout(workspace)
    engine = make_engine(settings.resolved_database_url)
    try:
        with collection_paused(layout.root), read_snapshot(engine) as connection:
            revision = _checked_revision(connection)
            # Permission 0600 from the first byte: the backup holds password hashes and the session secret.
            with atomic.atomic_open(out, "wb") as fh, tempfile.TemporaryDirectory(dir=out.parent,
                                                                                  prefix=".classmill-backup-") as tmp:
                os.fchmod(fh.fileno(), 0o600)
                with tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    writer = ArchiveWriter(tar, Path(tmp))
                    summary = BackupSummary(out, revision, {})
                    tables = _write_tables(connection, writer, Path(tmp), summary, on_progress)
                    files = WorkspaceFiles(layout, sqlite_file(settings.resolved_database_url))
                    _write_files(connection, layout, files, writer, summary, on_progress)
                    writer.finish({
                        "classmill_version": __version__, "created_at": utc_now().isoformat(),
                        "database": {"backend": engine.dialect.name, "revision": revision, "tables": tables},
                        "files": {"count": summary.files, "bytes": summary.bytes, "missing": summary.missing,
                                  "missing_count": summary.missing_count},
                    })
    finally:
        engine.dispose()
    return summary


def _check_output(out: Path, workspace: Path) -> None:
    if out.is_relative_to(Path(os.path.abspath(workspace))):
        raise UserError(f"{out} is inside the workspace it backs up. Write the backup elsewhere "
                        "(ideally another disk): a backup lost with its workspace is no backup.")
    if out.exists():
        raise UserError(f"{out} exists already. Give a new file name (e.g. with the date), or delete the old file.")
    if not out.parent.is_dir():
        raise UserError(f"the folder {out.parent} does not exist. Create it, or write the backup elsewhere.")


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction that sees the database as it was when it began, however long it runs."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SET TRANSACTION READ ONLY"))
            else:
                # In WAL mode a read transaction's snapshot is taken at its first read; take it now.
                connection.exec_driver_sql("SELECT count(*) FROM sqlite_master")
            yield connection


def _checked_revision(connection: Connection) -> str:
    revision = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if revision is None:
        raise UserError("the database has no classmill tables yet: there is nothing to back up. "
                        "Check --workspace and CLASSMILL_DATABASE_URL.")
    if revision != head:
        raise UserError(f"the database is at schema revision {revision}, this classmill's is {head}. "
                        "Run `classmill server migrate` first (or back up with the classmill version that "
                        "last ran this server).")
    return revision


def _write_tables(connection: Connection, writer: ArchiveWriter, tmp: Path, summary: BackupSummary,
                  on_progress: ProgressCallback | None) -> list[dict]:
    plans = plan_tables(Base.metadata)
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    totals = {plan.name: count_rows(connection, tables[plan.name]) for plan in plans}
    progress = PhaseProgress("backup_rows", sum(totals.values()), on_progress, unit="rows")
    for index, plan in enumerate(plans):
        dump = tmp / "rows.jsonl.gz"
        with gzip.open(dump, "wt", encoding="utf-8", compresslevel=6) as out:
            plan.rows = dump_rows(connection, tables[plan.name], plan, out, progress.advance)
        writer.add_file(table_member(index, plan.name), dump)
        dump.unlink()
        summary.rows[plan.name] = plan.rows
    progress.finish()
    return [plan.to_dict() for plan in plans]


def _write_files(connection: Connection, layout: StoreLayout, files: WorkspaceFiles, writer: ArchiveWriter,
                 summary: BackupSummary, on_progress: ProgressCallback | None) -> None:
    others = list(files.walk(with_store=False))
    images = count_rows(connection, StoredImage.__table__)
    progress = PhaseProgress("backup_files", len(others) + images, on_progress, unit="files")

    def add(relative: str, path: Path) -> None:
        summary.bytes += writer.add_file(FILES_PREFIX + relative, path)
        summary.files += 1

    for relative, path in others:
        try:
            add(relative, path)
        except FileNotFoundError:
            summary.note_missing(relative)  # deleted while the backup ran (a job's temp file)
        progress.advance()
    hashes = select(StoredImage.content_hash).order_by(StoredImage.content_hash)
    for partition in connection.execution_options(yield_per=1000).execute(hashes).partitions():
        for (content_hash,) in partition:
            try:
                image = layout.blobs.path(content_hash)
            except FileNotFoundError:
                # The store lost it (or a crashed collection left its row); the restored store is the same.
                summary.note_missing(files.relative_name(layout.images / content_hash[:2] / content_hash))
            else:
                add(files.relative_name(image), image)
                thumbnail = thumbnail_path(layout.thumbnails, content_hash)
                if thumbnail.is_file():  # else remade on first view
                    add(files.relative_name(thumbnail), thumbnail)
            progress.advance()
    progress.finish()
