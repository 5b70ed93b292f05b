"""Background jobs: their state, progress and queue position; stop, pause and resume of executor-run jobs."""

from __future__ import annotations

from fastapi import APIRouter

from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.job_schemas import JobRunOut
from classmill.server.services import imports, jobs
from classmill.server.api.numbers import DbId

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("/{job_id}", summary="A job's state and progress (phase, done, total), its queue position, and, "
            "when it failed, why")
def get_job(job_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> JobRunOut:
    job = imports.get_job(session, user, job_id)
    return JobRunOut.of(job, jobs.queue_position(state.executor, job))


@router.post("/{job_id}/stop", summary="Stop a job: a queued one at once, a running one after its next checkpoint")
def stop_job(job_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> JobRunOut:
    view = jobs.stop_job(session, state.executor, user, job_id)
    return JobRunOut.of(view.job, view.queue_position)


@router.post("/{job_id}/pause", summary="Pause a job: it checkpoints, ends as paused and frees its slot")
def pause_job(job_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> JobRunOut:
    view = jobs.pause_job(session, state.executor, user, job_id)
    return JobRunOut.of(view.job, view.queue_position)


@router.post("/{job_id}/resume", summary="Queue a paused, stopped or interrupted job again (a new attempt)")
def resume_job(job_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> JobRunOut:
    view = jobs.resume_job(session, state.executor, user, job_id)
    return JobRunOut.of(view.job, view.queue_position)
