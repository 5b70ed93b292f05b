"""Published endpoints: a model version answering at /serve/{name}/predict."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from classmill.server.db.base import Base, UTCDateTime, utc_now


class Endpoint(Base):
    __tablename__ = "endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # the URL's {name}: unique on the server
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="RESTRICT"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # Totals flushed from the serving process now and then (not per request: a write per request
    # would cap throughput at the database's commit rate).
    request_count: Mapped[int] = mapped_column(BigInteger, default=0)
    error_count: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms_sum: Mapped[float] = mapped_column(Float, default=0.0)
    latency_p50_ms: Mapped[float | None] = mapped_column(Float, nullable=True)  # over the last flush window
    latency_p99_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_request_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
