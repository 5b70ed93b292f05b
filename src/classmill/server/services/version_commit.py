"""Commit a new dataset version in one transaction: its stored images, the version, its image rows.

Every way of making a version (an import, adding images to a class, the edits of the versions
service) ends here, so "no half version is ever visible" holds once: the files are in the store
before this is called, and the rows that point at them appear together at the commit or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from classmill.server.db.base import utc_now
from classmill.server.db.datasets import SPLITS, Dataset, DatasetVersion, VersionImage
from classmill.server.db.session import writing
from classmill.server.services.image_store import STORE_LOCK, ImageFile, ensure_stored
from classmill.server.store.layout import StoreLayout

_ROWS_PER_INSERT = 1000


@dataclass(frozen=True)
class VersionEntry:
    """One image of the new version."""

    content_hash: str
    label: str
    split: str | None
    original_name: str
    problems: list[str] = field(default_factory=list)  # rules of the check report naming this image


@dataclass
class NewVersion:
    dataset_id: int
    author_id: int
    parent_id: int | None
    entries: list[VersionEntry]
    classes: list[str]
    summary: str
    check_report: dict
    split_settings: dict | None = None
    new_files: list[ImageFile] = field(default_factory=list)  # images this version adds to the store


def commit_version(session: Session, layout: StoreLayout, new: NewVersion,
                   before_commit: Callable[[Session, DatasetVersion], None] | None = None) -> DatasetVersion:
    """Insert the version and its rows (and StoredImage rows for new files) in one transaction.

    before_commit(session, version): runs inside the same transaction (e.g. to check the job's
    attempt and mark it done); raising there commits nothing.
    """
    hashes = [e.content_hash for e in new.entries]
    if len(set(hashes)) != len(hashes):
        raise ValueError("a version holds each image (content hash) once")
    if any(e.split is not None and e.split not in SPLITS for e in new.entries):
        raise ValueError(f"a split is one of {SPLITS} or None")
    with writing(session, lock_name=STORE_LOCK):
        ensure_stored(session, layout, new.new_files)
        number = (session.scalar(select(func.max(DatasetVersion.number)).where(
            DatasetVersion.dataset_id == new.dataset_id)) or 0) + 1
        version = DatasetVersion(
            dataset_id=new.dataset_id, number=number, parent_id=new.parent_id, author_id=new.author_id,
            summary=new.summary, classes=list(new.classes), image_count=len(new.entries),
            check_report=new.check_report, split_settings=new.split_settings)
        session.add(version)
        session.flush()
        rows = [{"version_id": version.id, "content_hash": e.content_hash, "label": e.label, "split": e.split,
                 "original_name": e.original_name[:1000], "problems": list(e.problems)} for e in new.entries]
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            session.execute(insert(VersionImage), rows[start:start + _ROWS_PER_INSERT])
        dataset = session.get(Dataset, new.dataset_id)
        dataset.status, dataset.status_reason, dataset.updated_at = "ready", "", utc_now()
        if before_commit is not None:
            before_commit(session, version)
    return version
