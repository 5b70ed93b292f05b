"""Training tasks and the model versions they yield.

A task is a project's request to train: a dataset version, the classes to learn, a preset and
the options over it, and the metric that picks the best checkpoint. Its training runs as one job
(server/db/jobs.py) whose attempts pause, resume and extend the same run folder. Each time that
run finishes (its first training, and every extension), the job builds a model version: the
evaluation report, the FP32 bundle and the per-class thresholds, in a folder of its own, and only
then the row (numbered per project). A model version keeps a copy of everything that made it
(config, classes, dataset version, the task and the epochs), so it stays meaningful after its task
is deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from classmill.server.db.base import Base, UTCDateTime, utc_now

SELECT_METRICS = ("top1", "top5", "precision", "recall", "f1")


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within its project
    name: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"),
                                                    index=True)
    classes: Mapped[list] = mapped_column(JSON, default=list)  # the classes it learns, in id order
    preset: Mapped[str] = mapped_column(String(16))
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # the overrides given over the preset
    config: Mapped[dict] = mapped_column(JSON, default=dict)  # the resolved TrainConfig (every option)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="RESTRICT"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("project_id", "number"), UniqueConstraint("task_id", "epochs"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within its project
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True,
                                                index=True)
    task_name: Mapped[str] = mapped_column(String(100))  # lineage that survives the task
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"),
                                                  nullable=True)  # the version an extension continued
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"),
                                                    index=True)
    epochs: Mapped[int] = mapped_column(Integer)  # epochs the run had completed when this version was built
    classes: Mapped[list] = mapped_column(JSON, default=list)
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)  # {"val": {...}, "test": {...}?, "best_epoch", ...}
    folder: Mapped[str] = mapped_column(String(255))  # relative to the workspace: report/, bundle
    suggested_thresholds: Mapped[dict] = mapped_column(JSON, default=dict)  # {class: threshold} from the report
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)  # {class: threshold} deployed (user-edited)
    int8: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {"job_id", "state", "accuracy"...} on request
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # the folder's files, for the disk-use view
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
