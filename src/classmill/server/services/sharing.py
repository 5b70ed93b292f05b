"""Sharing a dataset or a project with another user, read-only or read-write.

Only the owner or an admin manages a resource's shares: a write share lets its holder change the
resource, not hand it on. A holder may drop their own share. Someone who cannot see the resource
at all gets the same 404 as for an id that does not exist (services.access decides that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classmill.server.db.datasets import Dataset
from classmill.server.db.models import User
from classmill.server.db.projects import PERMISSIONS, Project, Share
from classmill.server.db.session import writing
from classmill.server.errors import Conflict, Forbidden, NotFound, ServiceError
from classmill.server.services.access import get_accessible
from classmill.server.services.paging import PageOf, PageRequest, fetch_page

Shareable = type[Dataset] | type[Project]
KINDS: dict[type, str] = {Dataset: "dataset", Project: "project"}


class InvalidShare(ServiceError):
    """A share that cannot exist (with oneself, with the owner, an unknown permission)."""

    status, code = 422, "invalid_share"


@dataclass(frozen=True)
class ShareView:
    username: str
    user_id: int
    permission: str
    created_at: datetime


def list_shares(session: Session, actor: User, model: Shareable, resource_id: int,
                page: PageRequest) -> PageOf[ShareView]:
    """Who the resource is shared with, oldest share first; owner or admin only."""
    _managed(session, actor, model, resource_id)
    query = select(Share).where(Share.resource_kind == KINDS[model], Share.resource_id == resource_id).order_by(Share.id)
    found = fetch_page(session, query, page)
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_([s.user_id for s in found.rows]))).all())
    return PageOf([_view(s, names[s.user_id]) for s in found.rows], found.total, found.request)


def share(session: Session, actor: User, model: Shareable, resource_id: int, username: str,
          permission: str) -> ShareView:
    """Give `username` read or write access; Conflict when they already have a share (change it instead)."""
    kind = KINDS[model]
    _check_permission(permission)
    try:
        with writing(session):
            resource = _managed(session, actor, model, resource_id)
            target = _user_named(session, username)
            if target.id == actor.id:
                raise InvalidShare(f"you cannot share {kind} {resource_id} with yourself.",
                                   "Name the user who should get access.", code="share_with_self")
            if target.id == resource.owner_id:
                raise InvalidShare(f"{target.username!r} owns {kind} {resource_id} already.",
                                   "Name another user: an owner has full access.", code="share_with_owner")
            if _find(session, kind, resource_id, target.id) is not None:
                raise _already_shared(kind, resource_id, target.username)
            row = Share(resource_kind=kind, resource_id=resource_id, user_id=target.id, permission=permission)
            session.add(row)
            session.flush()
    except IntegrityError:  # a concurrent request shared it first (PostgreSQL: no writer lock above)
        raise _already_shared(kind, resource_id, target.username) from None
    return _view(row, target.username)


def change_share(session: Session, actor: User, model: Shareable, resource_id: int, username: str,
                 permission: str) -> ShareView:
    """Make an existing share read-only or read-write."""
    _check_permission(permission)
    with writing(session):
        _managed(session, actor, model, resource_id)
        target, row = _existing(session, model, resource_id, username)
        row.permission = permission
    return _view(row, target.username)


def revoke_share(session: Session, actor: User, model: Shareable, resource_id: int, username: str) -> None:
    """End a share: the owner or an admin ends anyone's, a holder may end their own."""
    with writing(session):
        get_accessible(session, actor, model, resource_id)  # 404 first: no probing of others' ids
        if username.strip().lower() != actor.username:
            _managed(session, actor, model, resource_id)
        _, row = _existing(session, model, resource_id, username)
        session.delete(row)


def forget_shares(session: Session, kind: str, resource_id: int) -> None:
    """Delete every share of a resource being deleted (shares point at it by kind and id, not by key)."""
    session.execute(delete(Share).where(Share.resource_kind == kind, Share.resource_id == resource_id))


def may_manage(actor: User, resource: Dataset | Project) -> bool:
    """Whether `actor` manages the shares of a resource they can see: its owner or an admin."""
    return actor.is_admin or resource.owner_id == actor.id


def _managed(session: Session, actor: User, model: Shareable, resource_id: int):
    resource = get_accessible(session, actor, model, resource_id)
    if not may_manage(actor, resource):
        kind = KINDS[model]
        raise Forbidden(f"only the owner of {kind} {resource_id} or an admin can manage its shares.",
                        f"Ask the {kind}'s owner to share it; a write share lets you change it, not share it.",
                        code="not_owner")
    return resource


def _user_named(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"there is no user named {username!r}.", "Check the spelling; usernames are listed by an admin.",
                       code="user_not_found")
    return user


def _existing(session: Session, model: Shareable, resource_id: int, username: str) -> tuple[User, Share]:
    kind = KINDS[model]
    target = _user_named(session, username)
    row = _find(session, kind, resource_id, target.id)
    if row is None:
        raise NotFound(f"{kind} {resource_id} is not shared with {target.username!r}.",
                       f"List its shares with GET /api/v1/{kind}s/{resource_id}/shares.", code="share_not_found")
    return target, row


def _find(session: Session, kind: str, resource_id: int, user_id: int) -> Share | None:
    return session.scalar(select(Share).where(Share.resource_kind == kind, Share.resource_id == resource_id,
                                              Share.user_id == user_id))


def _check_permission(permission: str) -> None:
    if permission not in PERMISSIONS:
        raise InvalidShare(f"{permission!r} is not a permission.", "Use 'read' or 'write'.")


def _already_shared(kind: str, resource_id: int, username: str) -> Conflict:
    return Conflict(f"{kind} {resource_id} is already shared with {username!r}.",
                    f"Change its permission with PUT /api/v1/{kind}s/{resource_id}/shares/{username}.",
                    code="already_shared")


def _view(row: Share, username: str) -> ShareView:
    return ShareView(username=username, user_id=row.user_id, permission=row.permission, created_at=row.created_at)
