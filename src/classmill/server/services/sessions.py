"""Browser logins: a random key in an HttpOnly cookie, its SHA-256 in the database, an expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from classmill.server.db.base import utc_now
from classmill.server.db.models import LoginSession, User
from classmill.server.db.session import writing
from classmill.server.services.secrets_hashing import digest, new_secret


@dataclass(frozen=True)
class StartedSession:
    key: str  # goes into the cookie; the database keeps only its digest
    row: LoginSession


def start_session(session: Session, user: User, lifetime: timedelta) -> StartedSession:
    key = new_secret()
    now = utc_now()
    with writing(session):
        # Expired rows of this user go now, so the table never grows with abandoned logins.
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at < now))
        row = LoginSession(user_id=user.id, key_hash=digest(key), created_at=now, expires_at=now + lifetime)
        session.add(row)
    return StartedSession(key, row)


def user_for_session(session: Session, key: str) -> User | None:
    """The active user of a cookie's session key, or None (unknown, expired, logged out, disabled)."""
    row = session.scalar(select(LoginSession).where(LoginSession.key_hash == digest(key)))
    if row is None or row.expires_at <= utc_now() or row.user.disabled:
        return None
    return row.user


def end_session(session: Session, key: str) -> None:
    with writing(session):
        session.execute(delete(LoginSession).where(LoginSession.key_hash == digest(key)))
