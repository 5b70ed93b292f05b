"""Logging in: checking credentials (with the failed-login limit), then the session row, cookies and answer.

The API's login and setup routes and the web pages' login and setup forms all come through here.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request, Response
from sqlalchemy.orm import Session

from classmill.server.api.cookies import csrf_token, set_login_cookies
from classmill.server.api.schemas import LoginOut, UserOut
from classmill.server.db.models import User
from classmill.server.errors import NotAuthenticated, TooManyAttempts
from classmill.server.services import sessions, users
from classmill.server.state import ServerState


def check_credentials(session: Session, state: ServerState, username: str, password: str, address: str) -> User:
    """The user these credentials belong to; failures are counted per username and address, and paused."""
    limiter = state.login_limiter
    wait = limiter.retry_after(username, address)
    if wait:
        raise TooManyAttempts(f"too many failed logins for {username!r} from this address.",
                              f"Wait {wait} s and try again, or ask an admin to reset the password.", wait)
    user = users.authenticate(session, state.passwords, username, password)
    if user is None:
        limiter.failed(username, address)
        raise NotAuthenticated("wrong username or password (or the account is disabled).",
                               "Check both and try again; an admin can reset the password.",
                               code="invalid_credentials")
    limiter.succeeded(username, address)
    return user


def log_in(session: Session, state: ServerState, user: User, request: Request, response: Response) -> LoginOut:
    lifetime = timedelta(days=state.settings.session_days)
    started = sessions.start_session(session, user, lifetime)
    csrf = csrf_token(state.csrf_key, started.key)
    set_login_cookies(response, request, started.key, csrf, int(lifetime.total_seconds()))
    response.headers["Cache-Control"] = "no-store"  # the answer carries the CSRF token
    return LoginOut(user=UserOut.model_validate(user), csrf_token=csrf)
