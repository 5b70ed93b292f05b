"""Files in the image store and the one rule for deleting them, safe under concurrent imports.

The race to avoid: an import stores file H (a no-op if H is already there), then garbage collection
sees no version referring to H and deletes it, then the import commits a version pointing at the
missing file. Two rules close it, both under the same store lock (BEGIN IMMEDIATE on SQLite, the
advisory lock STORE_LOCK on PostgreSQL):
- the transaction that commits a version re-checks every newly stored file and puts it again if it
  is missing (`ensure_stored`), so the files exist when the version's rows commit;
- garbage collection deletes every file and row no version refers to inside one such transaction,
  so it can never run between that re-check and the commit (a file an import stored a moment ago
  may go, and is put back by that import's commit).
While a backup copies the store, collection is skipped (store/collection_lock.py): the backup's
database snapshot may refer to files a later deletion made garbage.
A crash inside collection can leave a row whose file is gone; no version refers to it, the next
import re-puts the file, and the next collection removes the row.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from classmill.server.db.datasets import StoredImage, VersionImage
from classmill.server.db.session import writing
from classmill.server.errors import NotFound
from classmill.server.store.collection_lock import collection_allowed
from classmill.server.store.layout import StoreLayout
from classmill.server.store.thumbnails import make_thumbnail, thumbnail_path

STORE_LOCK = "classmill.store"
FORMAT_SUFFIX = {  # a stored file's extension, from its Pillow format
    "JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp", "GIF": ".gif"}
_CHUNK = 500  # hashes per IN (...) query
_COLLECTING = threading.Lock()

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageFile:
    """A checked image to store: its content hash and header facts from the library's check."""

    source: Path
    content_hash: str
    size_bytes: int
    format: str
    width: int
    height: int

    def row(self) -> StoredImage:
        return StoredImage(content_hash=self.content_hash, size_bytes=self.size_bytes, format=self.format,
                           width=self.width, height=self.height)


def stored_path(layout: StoreLayout, content_hash: str) -> Path:
    """The file of a stored image a version refers to; a clear 404 (not a 500) if the store lost it."""
    try:
        return layout.blobs.path(content_hash)
    except FileNotFoundError:
        log.error("stored image %s is referenced but its file is missing from %s", content_hash, layout.images)
        raise NotFound(f"the file of image {content_hash} is missing from the server's image store.",
                       "Ask the admin to restore the workspace's images folder from a backup, or remove the "
                       "image from the version and import it again.", code="stored_file_missing") from None


def store_file(layout: StoreLayout, image: ImageFile) -> None:
    """Put the file and its thumbnail in the store (atomic; no-ops when already there)."""
    blobs = layout.blobs
    blobs.put(image.source, image.content_hash, FORMAT_SUFFIX.get(image.format, ".img"))
    make_thumbnail(blobs.path(image.content_hash), thumbnail_path(layout.thumbnails, image.content_hash))


def ensure_stored(session: Session, layout: StoreLayout, images: list[ImageFile]) -> None:
    """Inside a STORE_LOCK transaction: a StoredImage row for each image, and its files, re-put if missing."""
    blobs = layout.blobs
    wanted = {image.content_hash: image for image in images}
    hashes = list(wanted)
    known: set[str] = set()
    for start in range(0, len(hashes), _CHUNK):
        known.update(session.scalars(select(StoredImage.content_hash).where(
            StoredImage.content_hash.in_(hashes[start:start + _CHUNK]))))
    for content_hash, image in wanted.items():
        if not blobs.exists(content_hash) or not thumbnail_path(layout.thumbnails, content_hash).exists():
            store_file(layout, image)  # collected since it was stored: put it back before the commit
        if content_hash not in known:
            session.add(image.row())
    session.flush()


def collect_garbage(session: Session, layout: StoreLayout) -> int:
    """Delete every stored image no version refers to: files (also those without a row, left by a
    crashed import) and rows. Returns how many files went (0 when skipped: a backup is copying)."""
    # One collection at a time in this process first, so the flock below is refused only by a backup
    # (two flocks of one process conflict like two processes'), never by a concurrent collection.
    with _COLLECTING, collection_allowed(layout.root) as allowed:
        if not allowed:
            log.info("garbage collection skipped: a backup is copying the store; the next collection runs it")
            return 0
        return _collect(session, layout)


def _collect(session: Session, layout: StoreLayout) -> int:
    blobs = layout.blobs
    removed = 0
    with writing(session, lock_name=STORE_LOCK):
        referenced = set(session.scalars(select(VersionImage.content_hash).distinct()))
        for path in _stored_files(layout.images):
            content_hash = path.name.split(".", 1)[0]
            if content_hash not in referenced:
                blobs.delete(content_hash)
                thumbnail_path(layout.thumbnails, content_hash).unlink(missing_ok=True)
                removed += 1
        for path in _stored_files(layout.thumbnails):  # a thumbnail whose image went before a crash
            if path.stem not in referenced:
                path.unlink(missing_ok=True)
        session.execute(delete(StoredImage).where(
            ~exists().where(VersionImage.content_hash == StoredImage.content_hash)))
    if removed:
        log.info("garbage collection removed %d stored images", removed)
    return removed


def _stored_files(root: Path) -> list[Path]:
    """The finished files under root; temp files of writes cut off by a crash over an hour ago are removed."""
    if not root.is_dir():
        return []
    found, stale = [], time.time() - 3600
    for shard in root.iterdir():
        for path in shard.iterdir() if shard.is_dir() else ():
            if not path.name.endswith(".tmp"):
                found.append(path)
            elif path.stat().st_mtime < stale:  # a write in progress is younger than that
                path.unlink(missing_ok=True)
    return found
