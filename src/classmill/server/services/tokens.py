"""Personal API tokens: created (shown once), listed, revoked, and resolved to their user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from classmill.server.db.base import utc_now
from classmill.server.db.models import ApiToken, User
from classmill.server.db.session import writing
from classmill.server.errors import NotFound, ServiceError
from classmill.server.services.paging import PageOf, PageRequest, fetch_page
from classmill.server.services.secrets_hashing import digest, new_secret

TOKEN_PREFIX = "cm_"
_SHOWN_PREFIX = 10  # "cm_" + 7 characters: enough to tell tokens apart in a list, useless to an attacker
# last_used_at is written at most this often per token, so a busy script does not write on every call.
_LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    secret: str  # the only time the token itself exists outside the caller's hands


def create_token(session: Session, user: User, name: str) -> NewToken:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ServiceError("a token needs a name of 1-100 characters.",
                           "Name it after where it is used, e.g. 'laptop' or 'ci'.", code="invalid_token_name")
    secret = new_secret(TOKEN_PREFIX)
    with writing(session):
        row = ApiToken(user_id=user.id, name=name, token_hash=digest(secret), prefix=secret[:_SHOWN_PREFIX])
        session.add(row)
    return NewToken(row, secret)


def list_tokens(session: Session, user: User, page: PageRequest) -> PageOf[ApiToken]:
    return fetch_page(session, select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id), page)


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; another user's token id is 'not found', never 'forbidden'."""
    with writing(session):
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != user.id:
            raise NotFound(f"you have no token with id {token_id}.", "List your tokens with GET /api/v1/tokens.")
        if row.revoked_at is None:
            row.revoked_at = utc_now()
    return row


def user_for_token(session: Session, secret: str) -> User | None:
    """The active user a presented token belongs to, or None (unknown, revoked, or user disabled)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if row is None or row.revoked_at is not None or row.user.disabled:
        return None
    now = utc_now()
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        with writing(session):
            session.get(ApiToken, row.id).last_used_at = now
    return row.user
