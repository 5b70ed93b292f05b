"""Typed dependencies for routes: the app state, a database session, the current user, an admin."""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from classmill.server.api.cookies import SAFE_METHODS, SESSION_COOKIE, csrf_ok
from classmill.server.db.models import User
from classmill.server.errors import Forbidden, NotAuthenticated
from classmill.server.services import sessions, tokens
from classmill.server.state import STATE_ATTRIBUTE, ServerState
from classmill.server.store.layout import StoreLayout


def get_state(request: Request) -> ServerState:
    return getattr(request.app.state, STATE_ATTRIBUTE)


StateDep = Annotated[ServerState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_store(state: StateDep) -> StoreLayout:
    return state.layout


StoreDep = Annotated[StoreLayout, Depends(get_store)]


def current_user(request: Request, state: StateDep, session: SessionDep) -> User:
    """The user of an API token (Authorization: Bearer) or of the login cookie; 401 otherwise."""
    return authenticate(request, state.csrf_key, session)


def authenticate(request: Request, csrf_key: bytes, session: Session) -> User:
    """current_user's check, for callers outside a route's dependencies (the published endpoints' gate)."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, secret = authorization.partition(" ")
        user = tokens.user_for_token(session, secret.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise NotAuthenticated("the API token is not valid (unknown, revoked, or its user is disabled).",
                                   "Create a new token (POST /api/v1/tokens) and send 'Authorization: Bearer cm_...'.",
                                   code="invalid_token")
        return user
    key = request.cookies.get(SESSION_COOKIE)
    if key is None:
        raise NotAuthenticated("you are not logged in.",
                               "Log in (POST /api/v1/auth/login), or send 'Authorization: Bearer <token>'.")
    user = sessions.user_for_session(session, key)
    if user is None:
        raise NotAuthenticated("your login has ended (logged out, expired, or the account was disabled).",
                               "Log in again (POST /api/v1/auth/login).", code="session_ended")
    if request.method not in SAFE_METHODS and not csrf_ok(request, csrf_key, key):
        raise Forbidden("the request has no valid CSRF token.",
                        "Send the classmill_csrf cookie's value in the X-CSRF-Token header.", code="csrf_failed")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("this needs an admin account.", "Ask an admin to do it, or to make you admin.",
                        code="admin_only")
    return user


AdminUser = Annotated[User, Depends(admin_user)]
