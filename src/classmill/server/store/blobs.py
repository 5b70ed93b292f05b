"""Images stored once, by the library's content hash, written atomically.

`BlobStore` is the interface the services use; `LocalBlobStore` keeps files under the workspace
(`<root>/<hh>/<hash><ext>`, sharded so no folder holds millions of files). A multi-node store (an
fsspec URL) implements the same four calls. The store never decides what may be deleted: the
services do, from the database (a file goes only when no version refers to it).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO, Protocol

from classmill import atomic

_CHUNK = 1 << 20


class BlobStore(Protocol):
    def put(self, source: Path, content_hash: str, suffix: str) -> None: ...
    def path(self, content_hash: str) -> Path: ...
    def exists(self, content_hash: str) -> bool: ...
    def delete(self, content_hash: str) -> None: ...


class LocalBlobStore:
    """Content-addressed files in a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _folder(self, content_hash: str) -> Path:
        if len(content_hash) < 8 or not all(c in "0123456789abcdef" for c in content_hash):
            raise ValueError(f"not a content hash: {content_hash!r}")  # never a path from a request
        return self.root / content_hash[:2]

    def path(self, content_hash: str) -> Path:
        """The stored file (whatever its extension); FileNotFoundError if it is not stored."""
        folder = self._folder(content_hash)
        for candidate in folder.glob(f"{content_hash}.*"):
            if not candidate.name.endswith(".tmp"):
                return candidate
        raise FileNotFoundError(f"no stored image {content_hash}")

    def exists(self, content_hash: str) -> bool:
        try:
            self.path(content_hash)
        except FileNotFoundError:
            return False
        return True

    def put(self, source: Path, content_hash: str, suffix: str) -> None:
        """Copy `source` in as `content_hash` (a no-op when already stored); verifies the hash."""
        if self.exists(content_hash):
            return
        target = self._folder(content_hash) / f"{content_hash}{suffix.lower()}"
        with open(source, "rb") as src, atomic.atomic_open(target, "wb") as dst:
            digest = _copy_hashing(src, dst)
            if digest != content_hash:  # the file changed since it was checked: store nothing
                raise ValueError(f"{source}: content changed while it was being stored")

    def put_bytes(self, data: bytes, content_hash: str, suffix: str) -> None:
        """put() for bytes already in memory (an upload of a few MB); verifies the hash."""
        if self.exists(content_hash):
            return
        if hashlib.blake2b(data, digest_size=16).hexdigest() != content_hash:
            raise ValueError(f"the data does not have the content hash {content_hash}")
        atomic.write_bytes(self._folder(content_hash) / f"{content_hash}{suffix.lower()}", data)

    def delete(self, content_hash: str) -> None:
        try:
            os.unlink(self.path(content_hash))
        except FileNotFoundError:
            pass

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


def _copy_hashing(src: BinaryIO, dst: BinaryIO) -> str:
    # The same digest as classmill.data.probe.content_hash, computed while copying.
    digest = hashlib.blake2b(digest_size=16)
    while chunk := src.read(_CHUNK):
        digest.update(chunk)
        dst.write(chunk)
    return digest.hexdigest()
