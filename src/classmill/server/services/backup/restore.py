"""`restore_backup`: a backup into a new workspace and an empty database, of either backend.

Nothing is written before the whole backup is verified and the target is known to be empty.
Then the schema is migrated to the backup's revision (its rows were made for it), the rows go in
in one transaction, the files are written, and only then is the transaction committed (rows that
point at files commit after the files exist); last, the schema is migrated on to this classmill's.
"""

from __future__ import annotations

import gzip
import io
import os
import secrets
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterator

from sqlalchemy import Connection, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from classmill.errors import ConfigError, UserError
from classmill.progress import PhaseProgress, ProgressCallback
from classmill.server.db.migrate import current_revision, revision_lineage, upgrade_database, upgrade_to
from classmill.server.db.session import make_engine
from classmill.server.errors import Invalid
from classmill.server.services.backup.archive import (DB_PREFIX, FILES_PREFIX, BackupDamaged, VerifiedBackup,
                                                      members, verify_backup)
from classmill.server.services.backup.create import sqlite_file
from classmill.server.services.backup.tables import (TablePlan, first_table_with_rows, insert_rows,
                                                     reset_sequences, set_deferred)
from classmill.server.services.backup.workspace_files import WorkspaceFiles
from classmill.server.settings import Settings
from classmill.server.store.layout import StoreLayout
from classmill.server.workspace import prepare_workspace

_CHUNK = 1 << 20
_ALEMBIC_TABLE = "alembic_version"


class TargetNotEmpty(UserError):
    """The workspace or database a restore would write into holds data already."""


@dataclass
class RestoreSummary:
    revision: str  # the backup's; the database is at this classmill's head afterwards
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0


def restore_backup(settings: Settings, backup: Path, on_progress: ProgressCallback | None = None) -> RestoreSummary:
    """Restore `backup` into `settings`' workspace and database, which must hold no data yet."""
    url = settings.resolved_database_url
    files = WorkspaceFiles(StoreLayout(settings.workspace), sqlite_file(url))
    _refuse_workspace_with_data(files)
    target_revision = _empty_database_revision(url, own_file=settings.database_url is None)
    verify = PhaseProgress("verify", _size(backup), on_progress, unit="bytes")
    verified = verify_backup(backup, verify.advance, check_name=lambda name: _check_target(files, name))
    verify.finish()
    revision = verified.manifest["database"]["revision"]
    _check_revisions(revision, target_revision, verified.manifest)
    plans = [TablePlan.from_dict(t) for t in verified.manifest["database"]["tables"]]

    prepare_workspace(settings.workspace)
    engine = make_engine(url)
    try:
        if target_revision != revision:
            upgrade_to(engine, revision)
        summary = RestoreSummary(revision)
        with tempfile.TemporaryFile("w+", encoding="utf-8") as written:
            try:
                with engine.begin() as connection:
                    _restore_contents(connection, backup, verified, plans, files, summary, written, on_progress)
            except BaseException:
                _remove_written(written)  # the rows rolled back: take their files away too
                raise
        upgrade_database(engine)
    finally:
        engine.dispose()
    return summary


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # verify_backup says what is wrong with it


def _refuse_workspace_with_data(files: WorkspaceFiles) -> None:
    found = files.first_data_file()
    if found is not None:
        raise TargetNotEmpty(f"the workspace {files.root} holds data already ({found}); a restore never "
                             "overwrites a workspace. Restore into a new folder (--workspace), or move this one "
                             "away first.")


def _empty_database_revision(url: str, *, own_file: bool) -> str | None:
    """The target database's schema revision (None: no schema); TargetNotEmpty when a table holds rows.

    own_file: the database is the workspace's own SQLite file (CLASSMILL_DATABASE_URL unset).
    """
    database_file = sqlite_file(url)
    if database_file is not None and not database_file.exists():
        return None  # not created before the backup is verified
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            names = [n for n in inspect(connection).get_table_names() if n != _ALEMBIC_TABLE]
            table = first_table_with_rows(connection, names)
        revision = current_revision(engine)
    except OperationalError as exc:
        raise ConfigError(f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
                          f"{exc.orig}. Start it or fix CLASSMILL_DATABASE_URL.") from exc
    finally:
        engine.dispose()
    if table is not None:
        fix = ("Restore into a new workspace folder (--workspace), or move this one away first."
               if own_file else
               "Point CLASSMILL_DATABASE_URL at a new, empty database (CREATE DATABASE ...), or unset it for a "
               "SQLite file in the new workspace.")
        raise TargetNotEmpty(f"the database {engine.url.render_as_string(hide_password=True)} holds data already "
                             f"(table {table} has rows); a restore never overwrites data. {fix}")
    return revision


def _check_target(files: WorkspaceFiles, name: str) -> None:
    if name.startswith(FILES_PREFIX) and files.target(name[len(FILES_PREFIX):]) is None:
        raise BackupDamaged(f"the backup would write {name!r}, a path no backup holds (temporary files, the "
                            "database file). It was not made by classmill or was changed; use another backup.")


def _check_revisions(revision: str, target_revision: str | None, manifest: dict) -> None:
    lineage = revision_lineage(revision)
    if lineage is None:
        raise UserError(f"the backup's database schema (revision {revision}) is newer than this classmill "
                        "knows. Upgrade classmill to the version that made the backup "
                        f"({manifest.get('classmill_version', 'unknown')}) or a newer one, then restore.")
    if target_revision is not None and target_revision not in lineage:
        raise TargetNotEmpty(f"the empty database already has schema revision {target_revision}, newer than "
                             f"the backup's ({revision}); its tables cannot take the backup's rows. Use a "
                             "database with no classmill tables (a new one, or drop these tables).")


def _restore_contents(connection: Connection, backup: Path, verified: VerifiedBackup, plans: list[TablePlan],
                      files: WorkspaceFiles, summary: RestoreSummary, written: IO[str],
                      on_progress: ProgressCallback | None) -> None:
    rows = PhaseProgress("restore_rows", sum(p.rows for p in plans), on_progress, unit="rows")
    stored = PhaseProgress("restore_files", verified.file_count, on_progress, unit="files")
    deferred: list[tuple[TablePlan, tarfile.TarInfo]] = []
    with tarfile.open(backup, "r:") as tar:
        tables = iter(plans)
        for member in members(tar):
            if member.name.startswith(DB_PREFIX):
                plan = next(tables)
                summary.rows[plan.name] = _insert(connection, plan, _lines(tar, member), rows.advance)
                if plan.deferred:
                    deferred.append((plan, member))
            elif member.name.startswith(FILES_PREFIX):
                if deferred:  # every table is in now: the files come after the last one
                    _set_deferred(connection, tar, deferred)
                summary.bytes += _write_file(tar, member, files, written)
                summary.files += 1
                stored.advance()
        _set_deferred(connection, tar, deferred)
    reset_sequences(connection, plans)
    rows.finish()
    stored.finish()
    # The files reach the disk before the rows that point at them commit (os.sync: one flush for all).
    os.sync()


def _insert(connection: Connection, plan: TablePlan, lines: Iterator[str], advance: Callable[[int], None]) -> int:
    try:
        return insert_rows(connection, plan, lines, advance)
    except (SQLAlchemyError, Invalid) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise UserError(f"the database refused a row of table {plan.name} ({reason}); nothing was restored. "
                        "A value one backend holds may not fit the other (PostgreSQL refuses text with NUL "
                        "characters): fix it in the source and back up again, or restore into the source's "
                        "backend.") from exc


def _set_deferred(connection: Connection, tar: tarfile.TarFile,
                  deferred: list[tuple[TablePlan, tarfile.TarInfo]]) -> None:
    for plan, member in deferred:
        set_deferred(connection, plan, _lines(tar, member))
    deferred.clear()


def _lines(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[str]:
    with io.TextIOWrapper(gzip.GzipFile(fileobj=tar.extractfile(member), mode="rb"), encoding="utf-8") as text:
        yield from text


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, files: WorkspaceFiles, written: IO[str]) -> int:
    """One file into place: a temp name, then a rename, so no half file ever has the real name.

    No fsync per file (a million of them would take long): _restore_contents syncs once, before the commit.
    """
    target = files.target(member.name[len(FILES_PREFIX):])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    written.write(f"{target}\n")
    with open(tmp, "xb") as out:
        os.fchmod(out.fileno(), member.mode & 0o777 or 0o600)
        shutil.copyfileobj(tar.extractfile(member), out, _CHUNK)
    os.replace(tmp, target)
    return member.size


def _remove_written(written: IO[str]) -> None:
    written.flush()
    written.seek(0)
    for line in written:
        path = Path(line.rstrip("\n"))
        path.unlink(missing_ok=True)
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            tmp.unlink(missing_ok=True)
