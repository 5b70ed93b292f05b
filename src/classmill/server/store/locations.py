"""Where the store keeps its files inside the workspace: one place, so import, browse and GC agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from classmill.server.store.blobs import LocalBlobStore


@dataclass(frozen=True)
class StoreLocations:
    workspace: Path

    @property
    def blobs(self) -> LocalBlobStore:
        return LocalBlobStore(self.workspace / "images")

    @property
    def thumbnails(self) -> Path:
        return self.workspace / "thumbnails"

    @property
    def scratch(self) -> Path:
        """Temporary files (exports being written); same file system as the store, so renames are atomic."""
        return self.workspace / "tmp"
