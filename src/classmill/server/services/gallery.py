"""Browsing a version: counts per class and split, a filtered gallery in pages, one image's details.

Every query starts from one version (version_id = ?), so the (version_id, label) and
(version_id, split) indexes narrow it before anything else; the order (original name, hash) is
unique within a version, so offset pages never overlap or skip rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from classmill.server.db.datasets import Dataset, DatasetVersion, StoredImage, VersionImage
from classmill.server.db.models import User
from classmill.server.errors import Invalid, NotFound
from classmill.server.db.projects import Project
from classmill.server.services.access import visible
from classmill.server.services.paging import PageOf, PageRequest
from classmill.server.services.versions import get_version

DETAIL_VERSIONS_LIMIT = 200  # versions listed in one image's details
UNSPLIT = "unsplit"  # the split filter's name for images not yet in train/val/test
_RULE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # check rules are snake_case names


def class_counts(session: Session, user: User, dataset_id: int, number: int) -> dict[str, dict[str, int]]:
    """label -> {"train", "val", "test", "unsplit", "total"} for every class of the version, empty ones too."""
    _, version = get_version(session, user, dataset_id, number)
    counts = {label: {"train": 0, "val": 0, "test": 0, UNSPLIT: 0, "total": 0} for label in version.classes}
    query = select(VersionImage.label, VersionImage.split, func.count()).where(
        VersionImage.version_id == version.id).group_by(VersionImage.label, VersionImage.split)
    for label, split, n in session.execute(query):
        row = counts.setdefault(label, {"train": 0, "val": 0, "test": 0, UNSPLIT: 0, "total": 0})
        row[split or UNSPLIT] += n
        row["total"] += n
    return counts


@dataclass(frozen=True)
class GalleryImage:
    content_hash: str
    label: str
    split: str | None
    original_name: str
    problems: list
    width: int
    height: int


@dataclass(frozen=True)
class GalleryFilter:
    label: str | None = None
    split: str | None = None  # train, val, test or "unsplit"
    problem: str | None = None  # a check rule name, e.g. "duplicate_image"
    search: str | None = None  # case-insensitive substring of the original name


def gallery_page(session: Session, user: User, dataset_id: int, number: int, where: GalleryFilter,
                 page: PageRequest) -> PageOf[GalleryImage]:
    """One page of the version's images matching `where`, ordered by original name, then hash."""
    _, version = get_version(session, user, dataset_id, number)
    query = select(VersionImage.content_hash, VersionImage.label, VersionImage.split, VersionImage.original_name,
                   VersionImage.problems, StoredImage.width, StoredImage.height).join(
        StoredImage, StoredImage.content_hash == VersionImage.content_hash).where(
        VersionImage.version_id == version.id)
    if where.label is not None:
        query = query.where(VersionImage.label == where.label)
    if where.split == UNSPLIT:
        query = query.where(VersionImage.split.is_(None))
    elif where.split is not None:
        if where.split not in ("train", "val", "test"):
            raise Invalid(f"split {where.split!r} is not train, val, test or {UNSPLIT}.",
                          "Use one of those four.", code="bad_split_filter")
        query = query.where(VersionImage.split == where.split)
    if where.problem is not None:
        if not _RULE.match(where.problem):
            raise Invalid(f"{where.problem!r} is not a check rule name.",
                          "Use a rule from the version's check report, e.g. duplicate_image.", code="bad_rule")
        # Portable across SQLite and PostgreSQL JSON: the rule appears quoted in the list's text.
        query = query.where(cast(VersionImage.problems, String).like(f'%"{where.problem}"%'))
    if where.search:
        query = query.where(func.lower(VersionImage.original_name).contains(where.search.lower(), autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(VersionImage.original_name, VersionImage.content_hash)
                           .limit(page.limit).offset(page.offset))
    return PageOf([GalleryImage(*row) for row in rows], total, page)


def readable_image(session: Session, user: User, content_hash: str) -> StoredImage:
    """The stored image, if some version of a dataset `user` can read holds it, or of the dataset of a
    project they can read (a shared project shows its model versions' images); 404 otherwise (no probing)."""
    holder = visible(select(VersionImage.content_hash).join(DatasetVersion).join(Dataset).where(
        VersionImage.content_hash == content_hash), user, Dataset).limit(1)
    via_project = visible(select(VersionImage.content_hash).join(DatasetVersion).join(
        Project, Project.dataset_id == DatasetVersion.dataset_id).where(
        VersionImage.content_hash == content_hash), user, Project).limit(1)
    readable = session.scalar(holder) or session.scalar(via_project)
    image = session.get(StoredImage, content_hash) if readable else None
    if image is None:
        raise NotFound(f"there is no image {content_hash}.", "Take image hashes from a version's gallery.",
                       code="image_not_found")
    return image


@dataclass(frozen=True)
class ImageDetail:
    image: StoredImage
    versions: list[dict]  # {dataset_id, dataset_name, version, label, split, original_name, problems}


def image_detail(session: Session, user: User, content_hash: str) -> ImageDetail:
    """Size, format, and every version holding the image among the datasets `user` can read."""
    image = readable_image(session, user, content_hash)
    query = visible(select(Dataset.id, Dataset.name, DatasetVersion.number, VersionImage.label, VersionImage.split,
                           VersionImage.original_name, VersionImage.problems).select_from(VersionImage)
                    .join(DatasetVersion).join(Dataset).where(VersionImage.content_hash == content_hash),
                    user, Dataset).order_by(Dataset.id, DatasetVersion.number).limit(DETAIL_VERSIONS_LIMIT)
    keys = ("dataset_id", "dataset_name", "version", "label", "split", "original_name", "problems")
    return ImageDetail(image, [dict(zip(keys, row)) for row in session.execute(query)])


def hashes_by_name(session: Session, user: User, dataset_id: int, number: int, names: list[str]) -> dict[str, str]:
    """original name -> content hash of the version's images named in `names` (a check report's files);
    names the version does not hold (files the check refused) are absent."""
    _, version = get_version(session, user, dataset_id, number)
    wanted = list(dict.fromkeys(names))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists on both databases
        query = select(VersionImage.original_name, VersionImage.content_hash).where(
            VersionImage.version_id == version.id, VersionImage.original_name.in_(wanted[start:start + 500]))
        found.update({name: content_hash for name, content_hash in session.execute(query)})
    return found
