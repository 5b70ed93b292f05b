"""Which files of a workspace a backup carries, and where a restore may put them.

Everything the server keeps in its workspace, except what is temporary (import staging, scratch,
half-written temp files), the SQLite database (it travels as rows) and the store's images and
thumbnails: those come from the database snapshot, so a file an import stored but never
committed stays out and every image a version refers to goes in. Walking the rest, instead of
naming folders, carries the folders added later (training runs, models, job logs) as they are.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Iterator

from classmill.server.store.collection_lock import collection_lock_path
from classmill.server.store.layout import StoreLayout
from classmill.server.workspace import SECRET_NAME

_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


class WorkspaceFiles:
    """The files of one workspace, by their path relative to it (posix, as in the backup)."""

    def __init__(self, layout: StoreLayout, database_file: Path | None) -> None:
        self.layout = layout
        self.root = layout.workspace
        # Temporary areas: imports' staging, scratch, the single-image tests' 24-hour keep, and a lock file.
        skipped = [layout.staging, layout.scratch, layout.model_tests, collection_lock_path(layout.root)]
        if database_file is not None:
            skipped += [Path(f"{database_file}{suffix}") for suffix in _SQLITE_SUFFIXES]
        self._skipped = {self._relative(p) for p in skipped if self._inside(p)}
        self._store = {self._relative(layout.images), self._relative(layout.thumbnails)}

    def _inside(self, path: Path) -> bool:
        return Path(os.path.abspath(path)).is_relative_to(Path(os.path.abspath(self.root)))

    def _relative(self, path: Path) -> PurePosixPath:
        return PurePosixPath(Path(os.path.abspath(path)).relative_to(Path(os.path.abspath(self.root))).as_posix())

    def _excluded(self, relative: PurePosixPath) -> bool:
        name = relative.name
        temporary = name.endswith(".tmp") or name.startswith(f".{SECRET_NAME}.")  # atomic.py's and workspace.py's
        return temporary or any(relative == s or relative.is_relative_to(s) for s in self._skipped)

    def relative_name(self, path: Path) -> str:
        return self._relative(path).as_posix()

    def in_store(self, relative: PurePosixPath) -> bool:
        return any(relative.is_relative_to(s) for s in self._store)

    def walk(self, *, with_store: bool) -> Iterator[tuple[str, Path]]:
        """Plain files (never links) outside the excluded paths; the store's images only `with_store`."""
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in sorted(files):
                path = Path(folder) / name
                relative = self._relative(path)
                if self._excluded(relative) or (not with_store and self.in_store(relative)):
                    continue
                if path.is_file() and not path.is_symlink():
                    yield relative.as_posix(), path

    def first_data_file(self) -> Path | None:
        """A file that makes this workspace hold data (its own session secret alone does not)."""
        for relative, path in self.walk(with_store=True):
            if relative != SECRET_NAME:
                return path
        return None

    def target(self, relative: str) -> Path | None:
        """Where a restore writes `relative`; None when the backup may not write there (a hostile name)."""
        path = PurePosixPath(relative)
        if path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts):
            return None
        return None if self._excluded(path) else self.root.joinpath(*path.parts)
