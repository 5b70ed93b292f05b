"""Request and response shapes of single-image and batch model tests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from classmill.server.api.job_schemas import JobRunOut
from classmill.server.api.numbers import DbId
from classmill.server.api.version_schemas import Label


class LabelConfidence(BaseModel):
    label: str
    confidence: float


class TestedImageOut(BaseModel):
    """One image of a test: its answer, or (error, code) when the file could not be used."""

    file: str = Field(description="the file's name as sent")
    test_id: str | None = Field(None, description="names this test for its result picture and add-to-dataset")
    label: str | None = None
    confidence: float | None = None
    top5: list[LabelConfidence] = Field(default_factory=list)
    uncertain: bool | None = Field(None, description="below the version's threshold for its label; null: unknown")
    threshold: float | None = None
    result_image: str | None = Field(None, description="URL of the image with its top-1 label drawn on it (PNG)")
    expires_at: datetime | None = Field(None, description="until when the image can be added to a dataset")
    error: str | None = Field(None, description="why this file got no answer, with the fix")
    code: str | None = None

    @classmethod
    def of(cls, version_id: int, name: str, test=None, error: tuple[str, str] | None = None,
           retention_s: float = 0) -> "TestedImageOut":
        if test is None:
            code, message = error
            return cls(file=name, error=message, code=code)
        expires = datetime.fromtimestamp(test.expires_at(retention_s), timezone.utc)
        return cls(file=name, test_id=test.id, **test.answer, expires_at=expires,
                   result_image=f"/api/v1/models/{version_id}/tests/{test.id}/result.png")


class ModelTestOut(BaseModel):
    model_version_id: int
    results: list[TestedImageOut] = Field(description="one per file sent, in the order sent")


class AddToDataset(BaseModel):
    label: Label = Field(description="the predicted label, or a corrected one: a class of the dataset or a new one")
    dataset_id: DbId | None = Field(None, description="default: the dataset of the model's project")
    split: Literal["train", "val", "test"] | None = Field(None, description="default: none (or the one it had)")


class BatchTestOut(BaseModel):
    id: int = Field(description="the batch test's job id")
    model_version_id: int
    job: JobRunOut = Field(description="state, progress (phase 'classify', done/total) and, when done, the result")
    files: dict[str, str] = Field(default_factory=dict,
                                  description="download URLs of predictions.csv and sorted.zip, once succeeded")

    @classmethod
    def of(cls, view) -> "BatchTestOut":
        job = view.job
        files = {} if job.state != "succeeded" else {
            name: f"/api/v1/batch-tests/{job.id}/{name}" for name in ("predictions.csv", "sorted.zip")}
        return cls(id=job.id, model_version_id=job.params["model_version_id"],
                   job=JobRunOut.of(job, view.queue_position), files=files)
