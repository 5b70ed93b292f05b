"""The backup file: one uncompressed tar, written in one pass, verified in one pass.

Members, in this order:
  db/NNN-<table>.jsonl.gz   each table's rows (tables.py), gzip: JSON compresses ~5x
  workspace/<path>          files of the workspace, as they sit under it (images are compressed already)
  checksums.jsonl           {"name", "size", "sha256"} of every member above, in the same order
  manifest.json             format, schema revision, tables with row counts, file counts, and the
                            sha256 of checksums.jsonl
The checksums come last because they are known only once everything is written; a reader
compares them line by line with the digests it computed, so neither side holds them all in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterator

from classmill.errors import UserError
from classmill.server.services.backup.tables import TablePlan
from classmill.server.services.backup.values import bind_type

FORMAT = "classmill-backup"
FORMAT_VERSION = 1
DB_PREFIX = "db/"
FILES_PREFIX = "workspace/"
CHECKSUMS = "checksums.jsonl"
MANIFEST = "manifest.json"
_CHUNK = 1 << 20
_MANIFEST_MAX = 16 << 20


class BackupDamaged(UserError):
    """The backup file is not one, is damaged, or was changed after it was written."""


def table_member(index: int, table: str) -> str:
    return f"{DB_PREFIX}{index:03d}-{table}.jsonl.gz"


class _HashingReader(io.RawIOBase):
    """Reads through `source`, hashing (and counting) every byte on the way."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source, self.digest, self.size = source, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        chunk = self.source.read(n)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


class ArchiveWriter:
    """Adds members to an open tar and keeps their checksums (in a temp file) for the end."""

    def __init__(self, tar: tarfile.TarFile, scratch: Path) -> None:
        self.tar = tar
        self._sums_path = scratch / CHECKSUMS
        self._sums = open(self._sums_path, "w", encoding="utf-8")
        self.members = 0

    def add_file(self, name: str, path: Path) -> int:
        """Stream `path` in as `name`; returns its size. FileNotFoundError if it went away."""
        reader = self._add(name, path)
        self._sums.write(json.dumps({"name": name, "size": reader.size, "sha256": reader.digest.hexdigest()},
                                    ensure_ascii=False) + "\n")
        self.members += 1
        return reader.size

    def _add(self, name: str, path: Path) -> _HashingReader:
        with open(path, "rb") as source:
            stat = os.fstat(source.fileno())
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), stat.st_mode & 0o777
            reader = _HashingReader(source)
            # A file still growing (a job's log) is cut at its size when opened: tar needs the size first.
            self.tar.addfile(info, reader)
        return reader

    def finish(self, manifest: dict) -> None:
        """Add the checksums, then the manifest (with the checksums' own digest) as the last member."""
        self._sums.close()
        with open(self._sums_path, "rb") as sums:
            digest = hashlib.file_digest(sums, "sha256").hexdigest()
        self._add(CHECKSUMS, self._sums_path)
        manifest = {**manifest, "format": FORMAT, "format_version": FORMAT_VERSION,
                    "checksums": {"member": CHECKSUMS, "sha256": digest, "members": self.members}}
        data = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
        self.tar.addfile(info, io.BytesIO(data))


def members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The members one by one, without tarfile's list of every member seen (a million TarInfos)."""
    while (member := tar.next()) is not None:
        tar.members.clear()
        yield member


def checked_name(member: tarfile.TarInfo) -> str:
    """The member's name when it is a plain file with a name this format writes; BackupDamaged otherwise."""
    name = member.name
    path = PurePosixPath(name)
    if (not member.isreg() or path.is_absolute() or "\\" in name
            or any(part in ("", ".", "..") for part in name.split("/"))):
        raise BackupDamaged(f"the backup holds an entry this format never writes: {name!r}. "
                            "It is not a classmill backup, or it was changed; use another backup.")
    if not (name.startswith((DB_PREFIX, FILES_PREFIX)) or name in (CHECKSUMS, MANIFEST)):
        raise BackupDamaged(f"the backup holds an unexpected entry {name!r}. It is not a classmill backup, "
                            "or it was changed; use another backup.")
    return name


@dataclass
class VerifiedBackup:
    manifest: dict
    file_count: int


def verify_backup(path: Path, advance: Callable[[int], None],
                  check_name: Callable[[str], None] = lambda name: None) -> VerifiedBackup:
    """Read the whole backup once: every checksum, every table's row count; BackupDamaged on any mismatch.

    advance: called with the bytes of each member read. check_name: may refuse a member's name.
    """
    try:
        with tarfile.open(path, "r:") as tar, tempfile.TemporaryFile("w+", encoding="utf-8") as computed:
            manifest, sums, sums_digest, tables, files = None, None, None, [], 0
            for member in members(tar):
                name = checked_name(member)
                check_name(name)
                if manifest is not None:
                    raise BackupDamaged(f"the backup has entries after its manifest ({name!r}); use another backup.")
                reader = _HashingReader(tar.extractfile(member))
                if name == MANIFEST:
                    if member.size > _MANIFEST_MAX:
                        raise BackupDamaged(f"the manifest of {path} is {member.size} bytes, far more than "
                                            "one is; it is not a classmill backup.")
                    manifest = _parse_manifest(reader.source.read())
                    continue
                if name.startswith(DB_PREFIX):
                    tables.append((name, _count_lines(reader)))
                reader.drain()
                if name == CHECKSUMS:
                    sums, sums_digest = member, reader.digest.hexdigest()
                    continue
                files += name.startswith(FILES_PREFIX)
                computed.write(json.dumps({"name": name, "size": reader.size, "sha256": reader.digest.hexdigest()},
                                          ensure_ascii=False) + "\n")
                advance(member.size)
            if manifest is None or sums is None:
                raise BackupDamaged(f"{path} ends before its manifest: it was cut short (a copy that did not "
                                    "finish, a full disk). Use another backup.")
            if sums_digest != manifest["checksums"]["sha256"]:
                raise BackupDamaged(f"the checksum list of {path} does not match its manifest; use another backup.")
            computed.seek(0)
            _compare_checksums(tar.extractfile(sums), computed)
    except FileNotFoundError as exc:
        raise UserError(f"no backup at {path}. Give the path of a file `classmill server backup` wrote.") from exc
    except (IsADirectoryError, PermissionError) as exc:
        raise UserError(f"cannot read the backup {path}: {exc.strerror}. Give a backup file you may read.") from exc
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupDamaged(f"{path} is not a readable classmill backup ({exc}). Use another backup.") from exc
    _check_tables(manifest, tables)
    return VerifiedBackup(manifest, files)


def _count_lines(reader: _HashingReader) -> int:
    lines = 0
    with gzip.GzipFile(fileobj=reader, mode="rb") as rows:  # the gzip CRC is checked on the way
        while chunk := rows.read(_CHUNK):
            lines += chunk.count(b"\n")
    return lines


def _compare_checksums(stored_file: IO[bytes], computed: IO[str]) -> None:
    """The checksums stored in the backup against the ones just computed, line by line."""
    stored = io.TextIOWrapper(stored_file, encoding="utf-8")
    for expected, actual in zip(stored, computed):
        if json.loads(expected) != json.loads(actual):
            name = json.loads(actual)["name"]
            raise BackupDamaged(f"{name} in the backup does not match its checksum: the backup is damaged. "
                                "Use another backup; nothing was restored.")
    if stored.readline() or computed.readline():
        raise BackupDamaged("the backup's entries and its checksum list differ in number: the backup is damaged. "
                            "Use another backup; nothing was restored.")


def _parse_manifest(data: bytes) -> dict:
    manifest = json.loads(data.decode("utf-8"))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupDamaged("the file is not a classmill backup (its manifest names another format).")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupDamaged(f"the backup has format version {version!r}; this classmill reads up to "
                            f"{FORMAT_VERSION}. Restore it with the classmill version that made it "
                            f"({manifest.get('classmill_version')}) or a newer one.")
    try:
        revision, tables, digest = (manifest["database"]["revision"], manifest["database"]["tables"],
                                    manifest["checksums"]["sha256"])
    except (KeyError, TypeError) as exc:
        raise BackupDamaged(f"the backup's manifest lacks {exc}; it is damaged. Use another backup.") from None
    if not (isinstance(revision, str) and isinstance(tables, list) and isinstance(digest, str)):
        raise BackupDamaged("the backup's manifest is damaged (wrong types). Use another backup.")
    return manifest


def _check_tables(manifest: dict, tables: list[tuple[str, int]]) -> None:
    try:
        plans = [TablePlan.from_dict(t) for t in manifest["database"]["tables"]]
        for plan in plans:
            for _, kind in plan.columns:
                bind_type(kind)
        planned = [(table_member(i, plan.name), plan.rows) for i, plan in enumerate(plans)]
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupDamaged(f"the backup's manifest is incomplete ({exc!r}). Use another backup.") from exc
    if planned != tables:
        raise BackupDamaged("the backup's tables or row counts do not match its manifest: the backup is damaged. "
                            "Use another backup; nothing was restored.")
