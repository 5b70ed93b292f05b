"""The logged-in user: who am I, and changing my own password."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from classmill.server.api.cookies import clear_login_cookies
from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.schemas import PasswordChange, UserOut
from classmill.server.services import users

router = APIRouter(prefix="/me", tags=["me"])


@router.get("", summary="The user these credentials belong to")
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT,
             summary="Change my password; every login of mine ends (API tokens stay)")
def change_password(body: PasswordChange, user: CurrentUser, state: StateDep, session: SessionDep) -> Response:
    users.change_own_password(session, state.passwords, user, body.current_password, body.new_password)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_login_cookies(response)
    return response
