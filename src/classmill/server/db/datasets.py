"""The dataset tables: stored images, datasets, their immutable versions and what each version holds.

An image file is stored once, by the library's content hash (`StoredImage`); a version refers to
images by hash, so copying a version costs rows, not files, and a file may be deleted only when
no version refers to it. A version is never changed after it is committed: every edit makes a new
version whose `parent_id` is the one it was made from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classmill.server.db.base import Base, UTCDateTime, utc_now

DATASET_STATUSES = ("empty", "importing", "ready", "failed")
SPLITS = ("train", "val", "test")


class StoredImage(Base):
    """One image file in the store, keyed by its content hash (classmill.data.probe.content_hash)."""

    __tablename__ = "stored_images"

    content_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(16))  # Pillow's name: JPEG, PNG, BMP, TIFF
    width: Mapped[int] = mapped_column(Integer)  # as displayed, after EXIF orientation
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (
        CheckConstraint("status IN ('empty', 'importing', 'ready', 'failed')", name="status"),
        CheckConstraint("task_type IN ('single_label')", name="task_type"),
        UniqueConstraint("owner_id", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    task_type: Mapped[str] = mapped_column(String(32), default="single_label")  # multi-label later
    status: Mapped[str] = mapped_column(String(16), default="empty")
    status_reason: Mapped[str] = mapped_column(Text, default="")  # why it failed, in plain words
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    versions: Mapped[list[DatasetVersion]] = relationship(back_populates="dataset", order_by="DatasetVersion.number")


class DatasetVersion(Base):
    """An immutable snapshot: its images (by hash, with label, split and original name) and its check report."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within its dataset
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"),
                                                  nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    summary: Mapped[str] = mapped_column(Text, default="")  # the change, e.g. "relabelled 2 images to 'ng'"
    classes: Mapped[list] = mapped_column(JSON, default=list)  # class names in id order, empty classes too
    image_count: Mapped[int] = mapped_column(Integer, default=0)
    check_report: Mapped[dict] = mapped_column(JSON, default=dict)  # classmill.data.DatasetReport.to_dict()
    split_settings: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {"val", "test", "seed"} if split

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


class VersionImage(Base):
    """One image of one version. The same file may sit in many versions, each with its own label."""

    __tablename__ = "version_images"
    __table_args__ = (
        CheckConstraint("split IS NULL OR split IN ('train', 'val', 'test')", name="split"),
        Index(None, "version_id", "label"),
        Index(None, "version_id", "split"),
    )

    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True)
    content_hash: Mapped[str] = mapped_column(ForeignKey("stored_images.content_hash", ondelete="RESTRICT"),
                                              primary_key=True, index=True)
    label: Mapped[str] = mapped_column(String(100))
    split: Mapped[str | None] = mapped_column(String(8), nullable=True)
    original_name: Mapped[str] = mapped_column(String(1000))  # the path it had in the upload, for search
    problems: Mapped[list] = mapped_column(JSON, default=list)  # rules of the check report that name it
