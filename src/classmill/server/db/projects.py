"""Projects and sharing. A project groups the training work on one dataset; either can be shared.

Access is decided in one place (services), from ownership, these shares and the admin role.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from classmill.server.db.base import Base, UTCDateTime, utc_now

SHARED_KINDS = ("dataset", "project")
PERMISSIONS = ("read", "write")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("task_type IN ('image_classification')", name="task_type"),
        UniqueConstraint("owner_id", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    task_type: Mapped[str] = mapped_column(String(32), default="image_classification")
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Share(Base):
    """`user_id` may read (or read and change) the dataset or project `resource_id`."""

    __tablename__ = "shares"
    __table_args__ = (
        CheckConstraint("resource_kind IN ('dataset', 'project')", name="resource_kind"),
        CheckConstraint("permission IN ('read', 'write')", name="permission"),
        UniqueConstraint("resource_kind", "resource_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_kind: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    permission: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
