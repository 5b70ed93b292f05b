"""A lock between garbage collection of the image store and a backup copying it.

A backup reads the database in one snapshot and then copies the files that snapshot refers to.
Stored files never change, but collection deletes those no version refers to any more: a version
deleted after the snapshot would let collection delete files the backup still has to copy. So a
backup holds this lock shared while it copies, and collection, which takes it exclusively, skips
its run instead of waiting (a request must not hang for a whole backup); the garbage it leaves is
deleted by the next collection (the next deletion, or the next server start).

An flock on a file in the store: the kernel drops it when its process dies, however it dies. It
does not reach other machines; the store is local to one server (see store/blobs.py).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCK_NAME = "collection.lock"


def collection_lock_path(store_root: Path) -> Path:
    return Path(store_root) / LOCK_NAME


@contextmanager
def _locked(store_root: Path, operation: int) -> Iterator[bool]:
    path = collection_lock_path(store_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, operation)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the flock


@contextmanager
def collection_paused(store_root: Path) -> Iterator[None]:
    """Held by a backup: waits for a collection in progress to end, then keeps the next ones off."""
    with _locked(store_root, fcntl.LOCK_SH):
        yield


@contextmanager
def collection_allowed(store_root: Path) -> Iterator[bool]:
    """Held by garbage collection: yields False (at once, no waiting) while a backup is copying."""
    with _locked(store_root, fcntl.LOCK_EX | fcntl.LOCK_NB) as taken:
        yield taken
