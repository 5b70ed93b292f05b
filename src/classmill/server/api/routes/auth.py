"""Login and logout with the session cookie. Failed logins are rate-limited per username and address."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from classmill.server.api.cookies import SESSION_COOKIE, clear_login_cookies
from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.login import check_credentials, log_in
from classmill.server.api.schemas import Credentials, LoginOut
from classmill.server.services import sessions

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", summary="Log in; sets the session and CSRF cookies",
             responses={401: {"description": "wrong username or password"}, 429: {"description": "too many failures"}})
def login(body: Credentials, request: Request, response: Response, state: StateDep, session: SessionDep) -> LoginOut:
    address = request.client.host if request.client else "unknown"
    user = check_credentials(session, state, body.username, body.password, address)
    return log_in(session, state, user, request, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this login and clear its cookies")
def logout(user: CurrentUser, request: Request, session: SessionDep) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    key = request.cookies.get(SESSION_COOKIE)
    if key is not None:  # a token-authenticated call has no login to end
        sessions.end_session(session, key)
    clear_login_cookies(response)
    return response
