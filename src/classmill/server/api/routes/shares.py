"""Shares of a project or a dataset: list, add, change, revoke. Owner or admin only (a holder may leave)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from classmill.server.api.deps import CurrentUser, SessionDep
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.db.datasets import Dataset
from classmill.server.db.projects import Project
from classmill.server.services import sharing

router = APIRouter(tags=["shares"])

Permission = Literal["read", "write"]


class NewShare(BaseModel):
    username: str = Field(max_length=200, description="the user who gets access")
    permission: Permission = Field(description="read: see and use it; write: change it too")


class ShareChange(BaseModel):
    permission: Permission


class ShareOut(BaseModel):
    username: str
    user_id: int
    permission: Permission
    created_at: datetime


_ANSWERS = {403: {"description": "not the owner or an admin"},
            404: {"description": "no such resource or user, one you cannot see, or no such share"}}


def _add_routes(model: type[Dataset] | type[Project]) -> None:
    """The same four routes for each kind of resource that can be shared."""
    kind = sharing.KINDS[model]
    base = f"/{kind}s/{{resource_id}}/shares"

    @router.get(base, summary=f"Who the {kind} is shared with (paged)", responses=_ANSWERS,
                operation_id=f"list_{kind}_shares")
    def list_shares(resource_id: DbId, user: CurrentUser, session: SessionDep, page: PageDep) -> Page[ShareOut]:
        found = sharing.list_shares(session, user, model, resource_id, page)
        return Page(items=[ShareOut(**vars(s)) for s in found.rows], total=found.total,
                    limit=page.limit, offset=page.offset)

    @router.post(base, status_code=status.HTTP_201_CREATED, summary=f"Share the {kind} with a user",
                 responses={**_ANSWERS, 409: {"description": "already shared with that user"},
                            422: {"description": "with yourself or with the owner"}},
                 operation_id=f"share_{kind}")
    def add_share(resource_id: DbId, body: NewShare, user: CurrentUser, session: SessionDep) -> ShareOut:
        made = sharing.share(session, user, model, resource_id, body.username, body.permission)
        return ShareOut(**vars(made))

    @router.put(f"{base}/{{username}}", summary=f"Change a share of the {kind} to read or write",
                responses=_ANSWERS, operation_id=f"change_{kind}_share")
    def change_share(resource_id: DbId, username: str, body: ShareChange, user: CurrentUser,
                     session: SessionDep) -> ShareOut:
        return ShareOut(**vars(sharing.change_share(session, user, model, resource_id, username, body.permission)))

    @router.delete(f"{base}/{{username}}", status_code=status.HTTP_204_NO_CONTENT,
                   summary=f"Revoke a share of the {kind} (or leave one shared with you)", responses=_ANSWERS,
                   operation_id=f"revoke_{kind}_share")
    def revoke_share(resource_id: DbId, username: str, user: CurrentUser, session: SessionDep) -> Response:
        sharing.revoke_share(session, user, model, resource_id, username)
        return Response(status_code=status.HTTP_204_NO_CONTENT)


_add_routes(Project)
_add_routes(Dataset)
