"""Is the database answering? (The health route must not query by itself: routes never do.)"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def database_backend(session: Session) -> str:
    """The backend's name ('sqlite', 'postgresql') after a round trip proving the database answers."""
    session.execute(text("SELECT 1"))
    return session.get_bind().dialect.name
