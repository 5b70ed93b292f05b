"""Background jobs: list them, follow one live (Server-Sent Events), read its log; stop, pause and resume."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from classmill.server.api import sse
from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.job_schemas import JobRunOut
from classmill.server.api.numbers import DB_INT_MAX, DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.db.jobs import JOB_STATES
from classmill.server.services import imports, job_events, job_logs, jobs

router = APIRouter(prefix="/jobs", tags=["jobs"])

_NOT_FOUND = {404: {"description": "no such job, or one you cannot see"}}
JobState = Literal[JOB_STATES]


@router.get("", summary="Your jobs, imports included (admins: everyone's), newest first (paged)")
def list_jobs(user: CurrentUser, session: SessionDep, state: StateDep, page: PageDep,
              kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$", description="only jobs of this kind "
                                                "(train, import, ...)")] = None,
              job_state: Annotated[JobState | None, Query(alias="state", description="only jobs in this state")] = None,
              ) -> Page[JobRunOut]:
    found = jobs.list_jobs(session, state.executor, user, page, kind=kind, state=job_state)
    return Page(items=[JobRunOut.of(v.job, v.queue_position) for v in found.rows], total=found.total,
                limit=page.limit, offset=page.offset)


@router.get("/{job_id}", summary="A job's state and progress (phase, done, total), its queue position, and, "
            "when it failed, why")
def get_job(job_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> JobRunOut:
    job = imports.get_job(session, user, job_id)
    return JobRunOut.of(job, jobs.queue_position(state.executor, job))


@router.get("/{job_id}/events", response_class=StreamingResponse, responses={
    **_NOT_FOUND, 200: {"content": {sse.MEDIA_TYPE: {}},
                        "description": "events: one per events.jsonl line (id = its line number, event = its "
                                       "type), `job` (the row changed), `summary` (where the run stands), "
                                       "`end` (the last one); a comment every 15 s while quiet"}},
    summary="Follow a job live (Server-Sent Events) until it ends; reconnect with Last-Event-ID")
def follow_job(job_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep,
               last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=DB_INT_MAX,
                                                           description="the last line received")] = None,
               after: Annotated[int | None, Query(alias="last_event_id", ge=0, le=DB_INT_MAX,
                                                  description="the same, for clients that cannot set headers "
                                                              "(the header wins: a browser sends it on reconnect)")]
               = None) -> StreamingResponse:
    source = job_events.open_job_events(session, user, state.settings.workspace, job_id,
                                        last_event_id if last_event_id is not None else after or 0)
    items = job_events.follow_job(source, state.sessions, state.executor)
    return StreamingResponse(sse.event_stream(items), media_type=sse.MEDIA_TYPE, headers=sse.HEADERS)


@router.get("/{job_id}/log", response_class=PlainTextResponse, responses=_NOT_FOUND,
            summary="A job process's log (the current attempt unless named), at most its last MiB")
def job_log(job_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep,
            attempt: Annotated[str | None, Query(pattern=job_logs.ATTEMPT_PATTERN,
                                                 description="an attempt id (X-Job-Attempts lists them)")] = None,
            ) -> PlainTextResponse:
    log = job_logs.read_job_log(session, user, state.settings.workspace, job_id, attempt)
    return PlainTextResponse(log.text, headers={
        "X-Job-Attempt": log.attempt, "X-Job-Attempts": ",".join(log.attempts), "X-Log-Bytes": str(log.size),
        "X-Log-Cut": "true" if log.cut else "false", "Cache-Control": "no-store"})


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
