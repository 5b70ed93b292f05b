"""Response shapes of executor-run jobs (training now): a job as imports show it, plus its place in the queue."""

from __future__ import annotations

from pydantic import Field

from classmill.server.api.dataset_schemas import JobOut


class JobRunOut(JobOut):
    queue_position: int | None = Field(None, description="1 = the next of its class to start; null unless queued")

    @classmethod
    def of(cls, job, queue_position: int | None) -> "JobRunOut":
        return cls.model_validate(job).model_copy(update={"queue_position": queue_position})
