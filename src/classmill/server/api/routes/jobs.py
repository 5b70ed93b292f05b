"""Background jobs: their state and progress (imports now; training and the rest next)."""

from __future__ import annotations

from fastapi import APIRouter

from classmill.server.api.dataset_schemas import JobOut
from classmill.server.api.deps import CurrentUser, SessionDep
from classmill.server.api.numbers import DbId
from classmill.server.services import imports

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("/{job_id}", summary="A job's state and progress (phase, done, total) and, when it failed, why")
def get_job(job_id: DbId, user: CurrentUser, session: SessionDep) -> JobOut:
    return JobOut.model_validate(imports.get_job(session, user, job_id))
