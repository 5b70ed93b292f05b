"""The account tables: users, their API tokens and their login sessions.

Sessions live in the database rather than in a signed cookie so that logout, a password reset
and disabling a user end them at once, and a copied cookie stops working after logout.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classmill.server.db.base import Base, UTCDateTime, utc_now


class Role(str, enum.Enum):
    admin = "admin"
    member = "member"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'member')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-case: "Alice" and "alice" are one account.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.member.value)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin.value


class ApiToken(Base):
    """A personal token for the REST API. Only its SHA-256 is kept: the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the token's first characters, to recognise it in a list
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginSession(Base):
    """A browser login. The cookie holds a random key; the table holds only its SHA-256."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


# Every table is registered on Base.metadata by importing its module here (Alembic reads it).
from classmill.server.db.datasets import Dataset, DatasetVersion, StoredImage, VersionImage  # noqa: E402,F401
from classmill.server.db.jobs import Job  # noqa: E402,F401
from classmill.server.db.projects import Project, Share  # noqa: E402,F401
from classmill.server.db.training import ModelVersion, Task  # noqa: E402,F401
from classmill.server.db.deployments import Endpoint  # noqa: E402,F401
