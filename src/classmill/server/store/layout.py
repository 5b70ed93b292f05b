"""Where the server keeps files inside its workspace: stored images, thumbnails, import staging, model tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from classmill.server.store.blobs import LocalBlobStore


@dataclass(frozen=True)
class StoreLayout:
    workspace: Path

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def thumbnails(self) -> Path:
        return self.root / "thumbnails"

    @property
    def root(self) -> Path:
        """The store's own folder: images, thumbnails and the collection lock (store/collection_lock.py)."""
        return self.workspace / "store"

    @property
    def staging(self) -> Path:
        """Uploads and extractions of imports in progress; emptied of leftovers at every start."""
        return self.workspace / "staging"

    @property
    def scratch(self) -> Path:
        """Temporary files (exports being written); same file system as the store, so renames are atomic."""
        return self.workspace / "tmp"

    @property
    def model_tests(self) -> Path:
        """Images sent to single-image model tests and their result pictures, kept a while (tested_images.py)."""
        return self.workspace / "model-tests"

    @property
    def batch_tests(self) -> Path:
        """One folder per batch test: the uploaded zip, then predictions.csv and the sorted zip."""
        return self.workspace / "batch-tests"

    @property
    def blobs(self) -> LocalBlobStore:
        return LocalBlobStore(self.images)
