"""Dataset versions: find one (access-checked), list them, compare two, delete one.

Versions are addressed by their number within a dataset (/datasets/{id}/versions/{number}).
Edits live in version_edits.py, the zip export in version_export.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from classmill.server.db.base import utc_now
from classmill.server.db.datasets import Dataset, DatasetVersion, VersionImage
from classmill.server.db.models import User
from classmill.server.db.session import writing
from classmill.server.errors import Conflict, NotFound
from classmill.server.services.access import get_accessible
from classmill.server.services.paging import PageOf, PageRequest, fetch_page
from classmill.server.services.image_store import collect_garbage
from classmill.server.services.version_commit import VersionImageRow, version_lock_name
from classmill.server.store.layout import StoreLayout

DIFF_LIST_LIMIT = 500  # hashes listed per kind of change; the counts are always complete


def get_version(session: Session, user: User, dataset_id: int, number: int, *,
                write: bool = False) -> tuple[Dataset, DatasetVersion]:
    """Version `number` of dataset `dataset_id`, if `user` may read the dataset (and change it, with write)."""
    dataset = get_accessible(session, user, Dataset, dataset_id, write=write)
    version = session.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id,
                                                          DatasetVersion.number == number))
    if version is None:
        raise NotFound(f"dataset {dataset_id} has no version {number}.",
                       f"List its versions: GET /api/v1/datasets/{dataset_id}/versions.", code="version_not_found")
    return dataset, version


def list_versions(session: Session, user: User, dataset_id: int, page: PageRequest) -> PageOf[DatasetVersion]:
    """Newest first."""
    dataset = get_accessible(session, user, Dataset, dataset_id)
    query = select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id).order_by(
        DatasetVersion.number.desc())
    return fetch_page(session, query, page)


def parent_numbers(session: Session, children: list[DatasetVersion]) -> dict[int, int]:
    """version id -> its parent's number, for the versions in `children` that have a parent."""
    parent_ids = {v.parent_id for v in children if v.parent_id is not None}
    if not parent_ids:
        return {}
    numbers = dict(session.execute(select(DatasetVersion.id, DatasetVersion.number)
                                   .where(DatasetVersion.id.in_(parent_ids))).all())
    return {v.id: numbers[v.parent_id] for v in children if v.parent_id in numbers}


def author_names(session: Session, listed: list[DatasetVersion]) -> dict[int, str]:
    """author id -> username, for the authors of the versions in `listed`."""
    ids = {v.author_id for v in listed}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def version_rows(session: Session, version: DatasetVersion) -> dict[str, VersionImageRow]:
    """Every image of `version` by hash, in a stable order (original name, then hash)."""
    query = select(VersionImage.content_hash, VersionImage.label, VersionImage.split, VersionImage.original_name,
                   VersionImage.problems).where(VersionImage.version_id == version.id).order_by(
        VersionImage.original_name, VersionImage.content_hash)
    return {row[0]: VersionImageRow(*row) for row in session.execute(query)}


@dataclass(frozen=True)
class VersionDiff:
    added: list[str]
    removed: list[str]
    relabelled: list[dict]  # {"hash", "from", "to"}
    moved: list[dict]  # {"hash", "from", "to"}: split changes of images in both
    counts: dict[str, int]  # how many of each change, complete even when the lists are cut
    class_counts: dict[str, dict[str, int]]  # label -> {"from": n, "to": m}


def diff_versions(session: Session, user: User, dataset_id: int, from_number: int, to_number: int) -> VersionDiff:
    """What changed from one version of a dataset to another."""
    _, old_version = get_version(session, user, dataset_id, from_number)
    _, new_version = get_version(session, user, dataset_id, to_number)
    old, new = version_rows(session, old_version), version_rows(session, new_version)
    added = [h for h in new if h not in old]
    removed = [h for h in old if h not in new]
    both = [h for h in new if h in old]
    relabelled = [{"hash": h, "from": old[h].label, "to": new[h].label} for h in both if old[h].label != new[h].label]
    moved = [{"hash": h, "from": old[h].split, "to": new[h].split} for h in both if old[h].split != new[h].split]
    old_counts, new_counts = Counter(r.label for r in old.values()), Counter(r.label for r in new.values())
    labels = list(dict.fromkeys([*old_version.classes, *new_version.classes]))
    return VersionDiff(
        added=added[:DIFF_LIST_LIMIT], removed=removed[:DIFF_LIST_LIMIT],
        relabelled=relabelled[:DIFF_LIST_LIMIT], moved=moved[:DIFF_LIST_LIMIT],
        counts={"added": len(added), "removed": len(removed), "relabelled": len(relabelled), "moved": len(moved)},
        class_counts={label: {"from": old_counts.get(label, 0), "to": new_counts.get(label, 0)} for label in labels},
    )


def version_users(session: Session, version: DatasetVersion) -> list[str]:
    """What uses `version`, in words ("training task 4"); a used version cannot be deleted.

    The hook for training tasks and model versions (next issue): each adds its query here. Being
    another version's parent is not a use: the child keeps the history through the grandparent.
    """
    return []


def delete_version(session: Session, user: User, dataset_id: int, number: int, store: StoreLayout) -> int:
    """Delete version `number`; returns how many stored images went with it (no other version held them)."""
    dataset, version = get_version(session, user, dataset_id, number, write=True)
    with writing(session, version_lock_name(dataset.id)):
        session.refresh(version)
        users = version_users(session, version)
        if users:
            raise Conflict(f"version {number} of dataset {dataset_id} is used by {', '.join(users)}.",
                           "Delete what uses it first, or keep the version.", code="version_in_use")
        # Children now descend from the grandparent, so the history stays connected.
        session.execute(update(DatasetVersion).where(DatasetVersion.parent_id == version.id)
                        .values(parent_id=version.parent_id))
        session.execute(delete(VersionImage).where(VersionImage.version_id == version.id))
        session.delete(version)
        session.flush()
        session.get(Dataset, dataset.id).updated_at = utc_now()
    return collect_garbage(session, store)
