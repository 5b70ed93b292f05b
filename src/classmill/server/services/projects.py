"""Projects: the training work on one dataset. Created, listed (what the user may see), read, renamed, deleted.

Who may do what is decided by services.access: reading needs ownership, a share or the admin role;
renaming needs write access; deleting is for the owner or an admin only (a write share edits the
project, it does not own it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classmill.server.db.datasets import Dataset
from classmill.server.db.models import User
from classmill.server.db.projects import Project
from classmill.server.db.session import writing
from classmill.server.db.training import ModelVersion, Task
from classmill.server.errors import Conflict, Forbidden, ServiceError
from classmill.server.services.access import get_accessible, visible
from classmill.server.services.paging import PageOf, PageRequest, fetch_page
from classmill.server.services.sharing import forget_shares

NAME_MAX = 100
DESCRIPTION_MAX = 10_000


def create_project(session: Session, user: User, name: str, dataset_id: int, description: str = "") -> Project:
    """A project of `user` on a dataset they may read (404 for one they cannot see)."""
    name, description = clean_name(name), clean_description(description)
    try:
        with writing(session):
            get_accessible(session, user, Dataset, dataset_id)
            _check_name_free(session, user.id, name)
            project = Project(owner_id=user.id, name=name, description=description, dataset_id=dataset_id)
            session.add(project)
            session.flush()
    except IntegrityError:  # PostgreSQL: a concurrent request took the name (or deleted the dataset) first
        raise _concurrent_change() from None
    return project


def list_projects(session: Session, user: User, page: PageRequest, dataset_id: int | None = None) -> PageOf[Project]:
    """The projects `user` owns or was given, oldest first (every project for an admin); or those on one dataset."""
    query = visible(select(Project), user, Project)
    if dataset_id is not None:
        query = query.where(Project.dataset_id == dataset_id)
    return fetch_page(session, query.order_by(Project.id), page)


def get_project(session: Session, user: User, project_id: int) -> Project:
    return get_accessible(session, user, Project, project_id)


def update_project(session: Session, user: User, project_id: int, *, name: str | None = None,
                   description: str | None = None) -> Project:
    """Rename and/or re-describe; needs write access. Unset arguments keep their value."""
    name = None if name is None else clean_name(name)
    description = None if description is None else clean_description(description)
    try:
        with writing(session):
            project = get_accessible(session, user, Project, project_id, write=True)
            if name is not None and name != project.name:
                _check_name_free(session, project.owner_id, name)
                project.name = name
            if description is not None:
                project.description = description
            session.flush()
    except IntegrityError:
        raise _concurrent_change() from None
    return project


def delete_project(session: Session, user: User, project_id: int) -> None:
    """Delete the project and its shares (never its dataset); owner or admin only."""
    with writing(session):
        project = get_accessible(session, user, Project, project_id, write=True)
        if not (user.is_admin or project.owner_id == user.id):
            raise Forbidden(f"only the owner of project {project_id} or an admin can delete it.",
                            "Ask its owner to delete it; your write share lets you edit it.", code="not_owner")
        _check_no_training(session, project_id)
        forget_shares(session, "project", project_id)
        session.delete(project)


def _check_no_training(session: Session, project_id: int) -> None:
    for model, what in ((Task, "tasks"), (ModelVersion, "model versions")):
        if session.scalar(select(model.id).where(model.project_id == project_id).limit(1)) is not None:
            raise Conflict(f"project {project_id} still has {what}.",
                           "Delete its tasks and model versions first (their files go with them).",
                           code="project_not_empty")


def clean_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
        raise ServiceError(f"{name!r} is not a usable name.",
                           f"Use 1-{NAME_MAX} printable characters (no line breaks or tabs).", code="invalid_name")
    return cleaned


def clean_description(description: str) -> str:
    if len(description) > DESCRIPTION_MAX:
        raise ServiceError(f"the description has {len(description):,} characters.",
                           f"Shorten it to at most {DESCRIPTION_MAX:,}.", code="description_too_long")
    return description.strip()


def _check_name_free(session: Session, owner_id: int, name: str) -> None:
    if session.scalar(select(Project.id).where(Project.owner_id == owner_id, Project.name == name)) is not None:
        raise Conflict(f"the project's owner already has a project named {name!r}.",
                       "Choose another name, or rename that project first.", code="name_taken")


def _concurrent_change() -> Conflict:
    return Conflict("another request changed the same projects or dataset at the same time.",
                    "Reload and try again.", code="concurrent_change")


def may_change(session: Session, user: User, project: Project) -> bool:
    """Whether `user` (who can read `project`) may also change it: train, control tasks (write access)."""
    try:
        get_accessible(session, user, Project, project.id, write=True)
    except Forbidden:
        return False
    return True
