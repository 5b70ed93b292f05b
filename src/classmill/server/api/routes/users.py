"""User administration (admins only): list, create, disable, enable, reset a password."""

from __future__ import annotations

from fastapi import APIRouter, status

from classmill.server.api.deps import AdminUser, SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.api.schemas import NewPassword, NewUser, UserOut
from classmill.server.services import users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", summary="Every user, oldest first (paged)")
def list_users(admin: AdminUser, session: SessionDep, page: PageDep) -> Page[UserOut]:
    found = users.list_users(session, page)
    return Page(items=[UserOut.model_validate(u) for u in found.rows], total=found.total,
                limit=page.limit, offset=page.offset)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a user", responses={409: {"description": "username taken"}})
def create_user(body: NewUser, admin: AdminUser, state: StateDep, session: SessionDep) -> UserOut:
    return UserOut.model_validate(users.create_user(session, state.passwords, body.username, body.password, body.role))


@router.post("/{user_id}/disable", summary="Disable a user: their logins end and their tokens stop working")
def disable_user(user_id: DbId, admin: AdminUser, session: SessionDep) -> UserOut:
    return UserOut.model_validate(users.set_disabled(session, user_id, True))


@router.post("/{user_id}/enable", summary="Enable a disabled user again")
def enable_user(user_id: DbId, admin: AdminUser, session: SessionDep) -> UserOut:
    return UserOut.model_validate(users.set_disabled(session, user_id, False))


@router.put("/{user_id}/password", summary="Set a user's password; their logins end")
def reset_password(user_id: DbId, body: NewPassword, admin: AdminUser, state: StateDep, session: SessionDep) -> UserOut:
    return UserOut.model_validate(users.reset_password(session, state.passwords, user_id, body.password))
