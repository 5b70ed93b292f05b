"""Accounts: the first admin, creating, finding, authenticating, disabling and resetting users."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classmill.server.db.models import LoginSession, Role, User
from classmill.server.db.session import writing
from classmill.server.errors import Conflict, NotAuthenticated, NotFound, ServiceError
from classmill.server.services.paging import PageOf, PageRequest, fetch_page
from classmill.server.services.passwords import Passwords

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# Serialises "is there a user yet?" with creating one, on PostgreSQL (SQLite: BEGIN IMMEDIATE does it).
_SETUP_LOCK = "classmill.users.first-admin"


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise ServiceError(f"{username!r} is not a valid username.",
                           "Use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
                           code="invalid_username")
    return name


def any_user_exists(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(User)) > 0


def create_first_admin(session: Session, passwords: Passwords, username: str, password: str) -> User:
    """The one-time setup: refused with Conflict once any user exists."""
    name, password_hash = normalise_username(username), passwords.hash(password)
    with writing(session, lock_name=_SETUP_LOCK):
        if any_user_exists(session):
            raise Conflict("the server is already set up.", "Log in, or ask an admin for an account.",
                           code="already_set_up")
        user = User(username=name, password_hash=password_hash, role=Role.admin.value)
        session.add(user)
    return user


def create_user(session: Session, passwords: Passwords, username: str, password: str, role: Role) -> User:
    name, password_hash = normalise_username(username), passwords.hash(password)
    try:
        with writing(session):
            user = User(username=name, password_hash=password_hash, role=role.value)
            session.add(user)
            session.flush()
    except IntegrityError:
        raise Conflict(f"the username {name!r} is taken.", "Choose another username.", code="username_taken") from None
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}.", "List users with GET /api/v1/users.")
    return user


def list_users(session: Session, page: PageRequest) -> PageOf[User]:
    return fetch_page(session, select(User).order_by(User.id), page)


def authenticate(session: Session, passwords: Passwords, username: str, password: str) -> User | None:
    """The user whose password this is, or None (unknown, wrong password or disabled: one answer for all)."""
    name = username.strip().lower()
    user = session.scalar(select(User).where(User.username == name))
    if not passwords.verify(user.password_hash if user else None, password) or user.disabled:
        return None
    if passwords.needs_rehash(user.password_hash):  # cost raised since this hash was made
        with writing(session):
            session.get(User, user.id).password_hash = passwords.hash(password)
    return user


def set_disabled(session: Session, user_id: int, disabled: bool) -> User:
    """Disable (ending the user's sessions) or enable; an admin cannot lock out the last active admin."""
    with writing(session, lock_name=_SETUP_LOCK):
        user = get_user(session, user_id)
        if disabled and user.is_admin and _active_admins(session) <= 1 and not user.disabled:
            raise Conflict(f"{user.username!r} is the last active admin.",
                           "Make another user admin first, so someone can still manage the server.",
                           code="last_admin")
        user.disabled = disabled
        if disabled:
            session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return user


def reset_password(session: Session, passwords: Passwords, user_id: int, password: str) -> User:
    """New password; the user's existing logins end (their API tokens stay: they are revoked one by one)."""
    password_hash = passwords.hash(password)
    with writing(session):
        user = get_user(session, user_id)
        user.password_hash = password_hash
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return user


def change_own_password(session: Session, passwords: Passwords, user: User, current_password: str,
                        new_password: str) -> User:
    """`user` sets a new password, proving the current one first; all their logins end (reset_password)."""
    if authenticate(session, passwords, user.username, current_password) is None:
        raise NotAuthenticated("the current password is wrong.", "Type your current password again.",
                               code="invalid_credentials")
    return reset_password(session, passwords, user.id, new_password)


def _active_admins(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.admin.value, User.disabled.is_(False))
    return session.scalar(query)
