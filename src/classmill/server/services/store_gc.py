"""Removing stored images no version refers to any more: rows first (under the write lock), files after.

Only the hashes a caller names are considered (the images of a version it just deleted), never the
whole store, so an import that stored a file and is about to commit the version using it is not
raced over unrelated files. A row goes only when no version_images row refers to it, decided inside
one write transaction; its file and thumbnail go after that commit, and only if no new row for the
hash appeared meanwhile (an import that put the same file again re-creates the row after the file).
"""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from classmill.server.db.datasets import StoredImage, VersionImage
from classmill.server.db.session import writing
from classmill.server.store.locations import StoreLocations
from classmill.server.store.thumbnails import thumbnail_path

_CHUNK = 500  # hashes per statement: well under every database's parameter limit


def collect_unreferenced(session: Session, store: StoreLocations, candidates: list[str]) -> int:
    """Delete the StoredImage rows, files and thumbnails of `candidates` that no version holds; returns how many."""
    gone: list[str] = []
    with writing(session, "classmill-store-gc"):
        for start in range(0, len(candidates), _CHUNK):
            chunk = candidates[start:start + _CHUNK]
            unreferenced = select(StoredImage.content_hash).where(
                StoredImage.content_hash.in_(chunk),
                ~exists().where(VersionImage.content_hash == StoredImage.content_hash))
            hashes = list(session.scalars(unreferenced))
            if hashes:
                session.execute(delete(StoredImage).where(StoredImage.content_hash.in_(hashes)))
                gone.extend(hashes)
    for start in range(0, len(gone), _CHUNK):
        chunk = gone[start:start + _CHUNK]
        back = set(session.scalars(select(StoredImage.content_hash).where(StoredImage.content_hash.in_(chunk))))
        for content_hash in chunk:
            if content_hash not in back:
                store.blobs.delete(content_hash)
                thumbnail_path(store.thumbnails, content_hash).unlink(missing_ok=True)
    session.commit()
    return len(gone)
