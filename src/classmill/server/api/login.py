"""Starting a login: session row, cookies, and the answer the client needs (user + CSRF token)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request, Response
from sqlalchemy.orm import Session

from classmill.server.api.cookies import csrf_token, set_login_cookies
from classmill.server.api.schemas import LoginOut, UserOut
from classmill.server.db.models import User
from classmill.server.services import sessions
from classmill.server.state import ServerState


def log_in(session: Session, state: ServerState, user: User, request: Request, response: Response) -> LoginOut:
    lifetime = timedelta(days=state.settings.session_days)
    started = sessions.start_session(session, user, lifetime)
    csrf = csrf_token(state.csrf_key, started.key)
    set_login_cookies(response, request, started.key, csrf, int(lifetime.total_seconds()))
    response.headers["Cache-Control"] = "no-store"  # the answer carries the CSRF token
    return LoginOut(user=UserOut.model_validate(user), csrf_token=csrf)
