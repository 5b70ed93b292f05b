"""Request and response bodies of the dataset, import and job routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NewDataset(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=10_000)
    task_type: Literal["single_label"] = "single_label"


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int
    name: str
    description: str
    task_type: str
    status: Literal["empty", "importing", "ready", "failed"]
    status_reason: str = Field(description="why the last import failed, in plain words (when status is failed)")
    created_at: datetime
    updated_at: datetime


class ServerPathImport(BaseModel):
    path: str = Field(min_length=1, max_length=4096,
                      description="absolute path of a class-folder tree, a zip, a CSV or a PaddleClas list folder, "
                                  "under one of the server's import roots")


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    state: str
    attempt: str
    dataset_id: int | None
    progress_phase: str
    progress_done: int
    progress_total: int
    error: str = Field(description="why it failed, in plain words, with the fix")
    result: dict | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
