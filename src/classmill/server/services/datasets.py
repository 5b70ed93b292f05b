"""Datasets: create, list (what the user may see), get, delete (explicit, refused while in use)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classmill.server.db.datasets import Dataset, DatasetVersion
from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.db.projects import Project
from classmill.server.db.session import writing
from classmill.server.errors import Conflict, Forbidden, ServiceError
from classmill.server.services.access import get_accessible, visible
from classmill.server.services.image_store import collect_garbage
from classmill.server.services.paging import PageOf, PageRequest, fetch_page
from classmill.server.services.sharing import forget_shares
from classmill.server.store.layout import StoreLayout

TASK_TYPES = ("single_label",)
ACTIVE_JOB_STATES = ("queued", "running")


def create_dataset(session: Session, owner: User, name: str, description: str = "",
                   task_type: str = "single_label") -> Dataset:
    name = name.strip()
    if not name or len(name) > 100:
        raise ServiceError(f"{name!r} is not a valid dataset name.", "Use 1-100 characters.", code="invalid_name")
    if task_type not in TASK_TYPES:
        raise ServiceError(f"task type {task_type!r} is not supported.",
                           f"Use one of: {', '.join(TASK_TYPES)} (multi-label comes later).", code="invalid_task_type")
    try:
        with writing(session):
            dataset = Dataset(owner_id=owner.id, name=name, description=description, task_type=task_type)
            session.add(dataset)
            session.flush()
    except IntegrityError:
        raise Conflict(f"you already have a dataset named {name!r}.", "Choose another name.",
                       code="dataset_name_taken") from None
    return dataset


def list_datasets(session: Session, user: User, page: PageRequest) -> PageOf[Dataset]:
    return fetch_page(session, visible(select(Dataset), user, Dataset).order_by(Dataset.id), page)


def get_dataset(session: Session, user: User, dataset_id: int, *, write: bool = False) -> Dataset:
    return get_accessible(session, user, Dataset, dataset_id, write=write)


def newest_version(session: Session, dataset_id: int) -> DatasetVersion | None:
    return session.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id)
                          .order_by(DatasetVersion.number.desc()).limit(1))


def delete_dataset(session: Session, layout: StoreLayout, user: User, dataset_id: int) -> None:
    """Delete the dataset, its versions and shares; then the files no other version uses.

    Only its owner or an admin may (a write share may change it, not delete it).
    """
    with writing(session):
        dataset = get_dataset(session, user, dataset_id, write=True)
        if dataset.owner_id != user.id and not user.is_admin:
            raise Forbidden(f"only the owner of dataset {dataset_id} can delete it.",
                            "Ask its owner or an admin to delete it.", code="not_owner")
        project = session.scalar(select(Project.name).where(Project.dataset_id == dataset_id).limit(1))
        if project is not None:
            raise Conflict(f"dataset {dataset_id} is used by project {project!r}.",
                           "Delete the project (or give it another dataset) first.", code="dataset_in_use")
        if session.scalar(select(exists().where(Job.dataset_id == dataset_id, Job.state.in_(ACTIVE_JOB_STATES)))):
            raise Conflict(f"dataset {dataset_id} is being imported into.",
                           "Wait for the import to finish (GET /api/v1/jobs/{id}), then delete it.",
                           code="dataset_busy")
        # parent links first: a version's parent is RESTRICTed, whatever order the rows are deleted in
        session.execute(update(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id).values(parent_id=None))
        session.execute(delete(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id))  # image rows cascade
        session.execute(delete(Job).where(Job.dataset_id == dataset_id))
        forget_shares(session, "dataset", dataset_id)
        session.delete(dataset)
    collect_garbage(session, layout)



@dataclass(frozen=True)
class VersionSummary:
    number: int
    image_count: int
    class_count: int
    created_at: datetime


def latest_versions(session: Session, dataset_ids: list[int]) -> dict[int, VersionSummary]:
    """The newest version of each of these datasets, in one query that leaves the check reports unread;
    a dataset with no version is absent."""
    if not dataset_ids:
        return {}
    newest = (select(DatasetVersion.dataset_id, func.max(DatasetVersion.number).label("number"))
              .where(DatasetVersion.dataset_id.in_(dataset_ids)).group_by(DatasetVersion.dataset_id).subquery())
    query = (select(DatasetVersion.dataset_id, DatasetVersion.number, DatasetVersion.image_count,
                    DatasetVersion.classes, DatasetVersion.created_at)
             .join(newest, (DatasetVersion.dataset_id == newest.c.dataset_id)
                   & (DatasetVersion.number == newest.c.number)))
    return {row.dataset_id: VersionSummary(row.number, row.image_count, len(row.classes or ()), row.created_at)
            for row in session.execute(query)}
