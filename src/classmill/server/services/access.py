"""Who may see and change what: the one place that decides it, for every service.

A user reaches a dataset or project they own, one shared with them (read or write), or anything
when they are an admin. Anything else answers 404, exactly like an id that does not exist, so ids
that belong to someone else cannot be probed; a read-only share asked to change answers 403.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from classmill.server.db.datasets import Dataset
from classmill.server.db.models import User
from classmill.server.db.projects import Project, Share
from classmill.server.errors import Forbidden, NotFound

Owned = TypeVar("Owned", Dataset, Project)
_KINDS = {Dataset: "dataset", Project: "project"}


def get_accessible(session: Session, user: User, model: type[Owned], resource_id: int, *,
                   write: bool = False) -> Owned:
    """The dataset or project `resource_id`, if `user` may read it (and change it, with write=True)."""
    kind = _KINDS[model]
    resource = session.get(model, resource_id)
    if resource is None:
        raise NotFound(f"there is no {kind} {resource_id}.", f"List your {kind}s to find its id.",
                       code=f"{kind}_not_found")
    if user.is_admin or resource.owner_id == user.id:
        return resource
    permission = session.scalar(select(Share.permission).where(
        Share.resource_kind == kind, Share.resource_id == resource_id, Share.user_id == user.id))
    if permission is None:
        raise NotFound(f"there is no {kind} {resource_id}.", f"List your {kind}s to find its id.",
                       code=f"{kind}_not_found")
    if write and permission != "write":
        raise Forbidden(f"{kind} {resource_id} is shared with you read-only.",
                        f"Ask its owner for write access, or copy it into a {kind} of your own.",
                        code="read_only_share")
    return resource


def visible(query: Select, user: User, model: type[Owned]) -> Select:
    """`query` over `model` narrowed to the rows `user` may read (all of them for an admin)."""
    if user.is_admin:
        return query
    shared = select(Share.resource_id).where(Share.resource_kind == _KINDS[model], Share.user_id == user.id)
    return query.where(or_(model.owner_id == user.id, model.id.in_(shared)))
