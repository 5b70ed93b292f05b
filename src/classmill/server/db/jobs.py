"""Background work (a dataset import now; training, evaluation, export and batch tests next).

A job is a row with a state machine and an attempt id: whoever runs it must present the attempt
id to record progress or a result, so a stale attempt (a process the server gave up on after a
restart) can never commit anything.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from classmill.server.db.base import Base, UTCDateTime, utc_now

JOB_STATES = ("queued", "running", "succeeded", "failed", "stopped", "paused", "interrupted")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed', 'stopped', 'paused', 'interrupted')",
                        name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "import", later "train", "evaluate", "export", ...
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempt: Mapped[str] = mapped_column(String(32))  # a fresh random id per attempt
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), nullable=True,
                                                   index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # what to do, e.g. the staged upload's path
    progress_phase: Mapped[str] = mapped_column(String(32), default="")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")  # plain-language reason and fix when failed
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
