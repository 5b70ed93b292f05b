"""Committing a new immutable dataset version: the one function every writer of versions calls.

Import writes version 1 through it, every edit writes version n+1 through it. The caller holds
`writing(session)`; this numbers the version (max + 1 per dataset, serialised by that transaction
on SQLite and by a per-dataset advisory lock on PostgreSQL, with the (dataset_id, number) unique
constraint behind both), inserts the image rows in one bulk statement and touches the dataset.
The caller commits (leaving `writing`), so a failure leaves no half-written version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Sequence

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from classmill.server.db.base import utc_now
from classmill.server.db.datasets import SPLITS, Dataset, DatasetVersion, VersionImage
from classmill.server.db.models import User
from classmill.server.db.session import writing
from classmill.server.services.image_store import STORE_LOCK, ImageFile, ensure_stored
from classmill.server.store.layout import StoreLayout


class VersionImageRow(NamedTuple):
    """One image of a version to commit (a plain tuple of these five fields works too)."""

    content_hash: str
    label: str
    split: str | None
    original_name: str
    problems: list = []


def version_lock_name(dataset_id: int) -> str:
    return f"classmill-dataset-versions-{dataset_id}"


def commit_version(session: Session, dataset: Dataset, parent: DatasetVersion | None, author: User,
                   images: Sequence[tuple], classes: list[str], summary: str, check_report: dict,
                   split_settings: dict | None) -> DatasetVersion:
    """Add version max+1 of `dataset` holding `images` (content_hash, label, split, original_name, problems).

    Call inside `writing(session)`; the StoredImage rows of every hash must exist already (files
    first, then rows). ValueError for rows that contradict themselves: a bug in the caller, not input.
    """
    rows = [VersionImageRow(*image) for image in images]
    _refuse_inconsistent(rows, classes)
    if parent is not None and parent.dataset_id != dataset.id:
        raise ValueError(f"parent version {parent.id} belongs to another dataset")
    if session.get_bind().dialect.name == "postgresql":
        # Re-entrant within one transaction, so harmless when the caller took it already.
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                        {"name": version_lock_name(dataset.id)})
    latest = session.scalar(select(func.max(DatasetVersion.number)).where(DatasetVersion.dataset_id == dataset.id))
    version = DatasetVersion(
        dataset_id=dataset.id, number=(latest or 0) + 1, parent_id=parent.id if parent else None,
        author_id=author.id, created_at=utc_now(), summary=summary, classes=list(classes),
        image_count=len(rows), check_report=check_report, split_settings=split_settings,
    )
    session.add(version)
    session.flush()  # the id the image rows point at
    if rows:
        # One Core executemany of plain dicts (the table, not the ORM class: no per-row ORM work):
        # 20,000 rows take ~0.3 s on SQLite and ~1 s on PostgreSQL, unlike 20,000 ORM objects.
        session.execute(VersionImage.__table__.insert(), [
            {"version_id": version.id, "content_hash": r.content_hash, "label": r.label, "split": r.split,
             "original_name": r.original_name, "problems": list(r.problems)} for r in rows])
    dataset.updated_at = utc_now()
    session.flush()
    return version


@dataclass
class NewVersion:
    """A version with images new to the store (an import): its rows and the files to put first."""

    dataset_id: int
    author_id: int
    parent_id: int | None
    entries: list[VersionImageRow]
    classes: list[str]
    summary: str
    check_report: dict
    split_settings: dict | None = None
    new_files: list[ImageFile] = field(default_factory=list)  # images this version adds to the store


def commit_new_version(session: Session, layout: StoreLayout, new: NewVersion,
                       before_commit: Callable[[Session, DatasetVersion], None] | None = None) -> DatasetVersion:
    """Store `new.new_files` (re-put if garbage collection took them), then commit_version, in one
    transaction under the store lock, and mark the dataset ready.

    before_commit(session, version): runs inside the same transaction (e.g. to check the job's
    attempt and mark it done); raising there commits nothing.
    """
    with writing(session, lock_name=STORE_LOCK):
        ensure_stored(session, layout, new.new_files)
        dataset = session.get(Dataset, new.dataset_id)
        parent = session.get(DatasetVersion, new.parent_id) if new.parent_id is not None else None
        entries = [e._replace(original_name=e.original_name[:1000]) for e in new.entries]
        version = commit_version(session, dataset, parent, session.get(User, new.author_id), entries, new.classes,
                                 new.summary, new.check_report, new.split_settings)
        dataset.status, dataset.status_reason = "ready", ""
        if before_commit is not None:
            before_commit(session, version)
    return version


def _refuse_inconsistent(rows: list[VersionImageRow], classes: list[str]) -> None:
    if len(set(classes)) != len(classes):
        raise ValueError("classes repeat a name")
    known = set(classes)
    seen: set[str] = set()
    for row in rows:
        if row.content_hash in seen:
            raise ValueError(f"image {row.content_hash} appears twice in one version")
        seen.add(row.content_hash)
        if row.label not in known:
            raise ValueError(f"label {row.label!r} of {row.content_hash} is not one of the classes")
        if row.split is not None and row.split not in SPLITS:
            raise ValueError(f"split {row.split!r} of {row.content_hash} is not one of {SPLITS}")
