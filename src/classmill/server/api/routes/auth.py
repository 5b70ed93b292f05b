"""Login and logout with the session cookie. Failed logins are rate-limited per username and address."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from classmill.server.api.cookies import SESSION_COOKIE, clear_login_cookies
from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.login import log_in
from classmill.server.api.schemas import Credentials, LoginOut
from classmill.server.errors import NotAuthenticated, TooManyAttempts
from classmill.server.services import sessions, users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", summary="Log in; sets the session and CSRF cookies",
             responses={401: {"description": "wrong username or password"}, 429: {"description": "too many failures"}})
def login(body: Credentials, request: Request, response: Response, state: StateDep, session: SessionDep) -> LoginOut:
    address = request.client.host if request.client else "unknown"
    limiter = state.login_limiter
    wait = limiter.retry_after(body.username, address)
    if wait:
        raise TooManyAttempts(f"too many failed logins for {body.username!r} from this address.",
                              f"Wait {wait} s and try again, or ask an admin to reset the password.", wait)
    user = users.authenticate(session, state.passwords, body.username, body.password)
    if user is None:
        limiter.failed(body.username, address)
        raise NotAuthenticated("wrong username or password (or the account is disabled).",
                               "Check both and try again; an admin can reset the password.",
                               code="invalid_credentials")
    limiter.succeeded(body.username, address)
    return log_in(session, state, user, request, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this login and clear its cookies")
def logout(user: CurrentUser, request: Request, session: SessionDep) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    key = request.cookies.get(SESSION_COOKIE)
    if key is not None:  # a token-authenticated call has no login to end
        sessions.end_session(session, key)
    clear_login_cookies(response)
    return response
