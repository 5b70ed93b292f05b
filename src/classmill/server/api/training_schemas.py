"""Request and response shapes of training tasks and model versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from classmill.server.api.job_schemas import JobRunOut
from classmill.server.api.numbers import DbId
from classmill.server.services.projects import NAME_MAX


class NewTask(BaseModel):
    name: str = Field(max_length=NAME_MAX)
    dataset_version: DbId = Field(description="the number of a version of the project's dataset")
    preset: str = Field("balanced", description="fast | balanced | accurate (GET /api/v1/tasks/options)")
    classes: list[str] | None = Field(None, max_length=10_000,
                                      description="the classes to learn (>= 2, each >= 20 images); default: all")
    options: dict[str, Any] = Field(default_factory=dict, description="overrides of the preset's options")
    select_metric: str = Field("top1", description="top1 | top5 | precision | recall | f1")


class Extension(BaseModel):
    epochs: int = Field(ge=1, le=1000, description="epochs to add to the finished training")


class ModelVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    number: int
    task_id: int | None
    task_name: str
    parent_id: int | None
    dataset_version_id: int
    epochs: int
    classes: list[str]
    metrics: dict
    config: dict
    suggested_thresholds: dict[str, float]
    thresholds: dict[str, float]
    int8: dict | None
    size_bytes: int
    created_at: datetime


class TaskOut(BaseModel):
    id: int
    project_id: int
    number: int
    name: str
    dataset_version_id: int
    classes: list[str]
    preset: str
    options: dict
    config: dict
    created_at: datetime
    job: JobRunOut
    model_versions: list[ModelVersionOut]

    @classmethod
    def of(cls, view) -> "TaskOut":
        task = view.task
        return cls(id=task.id, project_id=task.project_id, number=task.number, name=task.name,
                   dataset_version_id=task.dataset_version_id, classes=task.classes, preset=task.preset,
                   options=task.options, config=task.config, created_at=task.created_at,
                   job=JobRunOut.of(view.job.job, view.job.queue_position),
                   model_versions=[ModelVersionOut.model_validate(v) for v in view.model_versions])


class TaskSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    number: int
    name: str
    dataset_version_id: int
    preset: str
    job_id: int
    created_at: datetime


class ThresholdsIn(BaseModel):
    thresholds: dict[str, float] = Field(max_length=10_000, description="class -> threshold in [0, 1]")
