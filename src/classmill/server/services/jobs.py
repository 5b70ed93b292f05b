"""Jobs run by an Executor (training now; evaluation, export and batch tests next): the only code querying them.

Two sides. The server's: submit, get (with the executor's queue position), list (imports too), stop, pause,
resume, and `reconcile_jobs` at start. The job process's (server/jobs/entry.py): claim an
attempt, record progress, a heartbeat and the end — each a single `UPDATE ... WHERE id = ? AND
attempt = ?` so an attempt the server has replaced (reconciled, resumed) changes nothing.
Imports keep their own thread and reconciliation (services/imports.py) and are left alone here.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from classmill.server.db.base import utc_now
from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.db.session import writing
from classmill.server.errors import Conflict, NotFound
from classmill.server.jobs.executor import Executor
from classmill.server.jobs.train_job import has_checkpoint
from classmill.server.processes import process_alive
from classmill.server.services.paging import PageOf, PageRequest, fetch_page

IMPORT_KIND = "import"  # an executor job too, but reconciled (and failed, never resumed) by services/imports.py
RESUMABLE_STATES = ("paused", "stopped", "interrupted", "failed")


def new_attempt() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class JobView:
    job: Job
    queue_position: int | None  # 1 = next to start in its class; None unless queued


# ---- the server's side ----

def submit_job(session: Session, executor: Executor, owner: User, kind: str, params: dict,
               dataset_id: int | None = None) -> Job:
    """Record a queued job (committed), then hand it to the executor."""
    with writing(session):
        job = Job(kind=kind, attempt=new_attempt(), owner_id=owner.id, dataset_id=dataset_id, params=params,
                  state="queued", progress_phase="queued")
        session.add(job)
    executor.submit(job.id, job.attempt, kind)
    return job


def get_job(session: Session, executor: Executor, user: User, job_id: int) -> JobView:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.kind == IMPORT_KIND or not (user.is_admin or job.owner_id == user.id):
        raise NotFound(f"there is no job {job_id}.", "Use a job id from GET /api/v1/jobs.", code="job_not_found")
    return _view(executor, job)


def list_jobs(session: Session, executor: Executor, user: User, page: PageRequest, kind: str | None = None,
              state: str | None = None) -> PageOf[JobView]:
    """The user's jobs, imports included (every job for an admin), newest first; optionally one kind or state."""
    query = select(Job).order_by(Job.id.desc())
    if not user.is_admin:
        query = query.where(Job.owner_id == user.id)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if state is not None:
        query = query.where(Job.state == state)
    found = fetch_page(session, query, page)
    return PageOf([_view(executor, job) for job in found.rows], found.total, page)


def _view(executor: Executor, job: Job) -> JobView:
    return JobView(job, queue_position(executor, job))


def queue_position(executor: Executor, job: Job) -> int | None:
    """Where a queued job waits in its class (1 = next); None for any other job."""
    return executor.status(job.id).queue_position if job.state == "queued" else None


def stop_job(session: Session, executor: Executor, user: User, job_id: int) -> JobView:
    return _request(session, executor, user, job_id, "stop")


def pause_job(session: Session, executor: Executor, user: User, job_id: int) -> JobView:
    return _request(session, executor, user, job_id, "pause")


def _request(session: Session, executor: Executor, user: User, job_id: int, action: str) -> JobView:
    request_end(session, executor, get_job(session, executor, user, job_id).job, action)
    return get_job(session, executor, user, job_id)


def request_end(session: Session, executor: Executor, job: Job, action: str) -> None:
    """stop | pause an authorised job: a queued one ends at once, a running one at its next checkpoint."""
    if job.state not in ("queued", "running"):
        raise Conflict(f"job {job.id} is {job.state}: there is nothing to {action}.",
                       "Resume it first if it is paused, stopped or interrupted.", code="job_not_active")
    answer = executor.pause(job.id) if action == "pause" else executor.cancel(job.id)
    # "unknown" for a queued row: no executor holds it (a failed submit); ending it here is safe, since the
    # attempt can then never claim it (claim_attempt needs "queued").
    if answer == "dequeued" or (answer == "unknown" and job.state == "queued"):
        end_attempt(session, job.id, job.attempt, "paused" if action == "pause" else "stopped", from_states=("queued",))
    session.expire_all()


def resume_job(session: Session, executor: Executor, user: User, job_id: int) -> JobView:
    """Queue a paused, stopped or interrupted job again, under a new attempt id."""
    job = requeue(session, executor, get_job(session, executor, user, job_id).job)
    return _view(executor, job)


def requeue(session: Session, executor: Executor, job: Job, params: dict | None = None,
            from_states: tuple[str, ...] = RESUMABLE_STATES) -> Job:
    """Queue an authorised job again under a new attempt id (with new params, e.g. an extension's target)."""
    job_id = job.id
    with writing(session):
        job = session.get(Job, job_id, populate_existing=True)
        if job.state not in from_states:
            raise Conflict(f"job {job_id} is {job.state}; only a paused, stopped, interrupted or failed job resumes.",
                           "Wait for it to end, or start a new one.", code="job_not_resumable")
        job.attempt, job.state, job.error, job.finished_at = new_attempt(), "queued", "", None
        job.pid, job.host, job.progress_phase = None, "", "queued"
        if params is not None:
            job.params = params
    executor.submit(job.id, job.attempt, job.kind)
    return job


def reconcile_jobs(session: Session, executor: Executor, workspace, heartbeat_timeout_s: float) -> dict[str, int]:
    """At start: re-attach live job processes, interrupt dead ones (new attempt id), resubmit queued jobs.

    Returns counts {"adopted", "interrupted", "resubmitted"}.
    """
    host, counts = socket.gethostname(), {"adopted": 0, "interrupted": 0, "resubmitted": 0}
    stale_before = utc_now() - timedelta(seconds=heartbeat_timeout_s)
    with writing(session):
        for job in session.scalars(select(Job).where(Job.kind != IMPORT_KIND, Job.state == "running")):
            fresh = job.heartbeat_at is not None and job.heartbeat_at >= stale_before
            if fresh and job.host == host and process_alive(job.pid):
                executor.adopt(job.id, job.attempt, job.kind, job.pid)
                counts["adopted"] += 1
            elif fresh and job.host not in ("", host):
                continue  # another machine's process, still beating: its own server answers for it
            else:
                _interrupt(job, workspace, "the job's process is gone (the server or the machine stopped while it ran)")
                counts["interrupted"] += 1
        queued = list(session.scalars(select(Job).where(Job.kind != IMPORT_KIND, Job.state == "queued")
                                      .order_by(Job.id)))
    for job in queued:
        executor.submit(job.id, job.attempt, job.kind)
        counts["resubmitted"] += 1
    return counts


def _interrupt(job: Job, workspace, why: str) -> None:
    resumable = has_checkpoint(workspace, job.kind, job.params)
    job.state, job.attempt, job.finished_at = "interrupted", new_attempt(), utc_now()
    job.error = why + ("; resume it to continue from its last checkpoint." if resumable
                       else "; it had no checkpoint yet: resuming starts it again.")
    job.result = {**(job.result or {}), "resumable": resumable}


def record_exit(session: Session, workspace, job_id: int, attempt: str, code: int | None,
                requested: str | None) -> None:
    """The executor saw the attempt's process end: record an end the process itself could not."""
    lost_import = False
    with writing(session):
        job = session.get(Job, job_id, populate_existing=True)
        if job is None or job.attempt != attempt or job.state not in ("queued", "running"):
            return  # it recorded its own end, or it is stale
        if job.kind == IMPORT_KIND:  # an import ends failed (retry it), with its dataset's status
            from classmill.server.services.imports import SERVER_STOPPED, fail_import

            fail_import(session, job, SERVER_STOPPED)
            lost_import = True
        elif requested is not None:  # killed by the request before it could listen (still starting)
            job.state, job.finished_at = ("paused" if requested == "pause" else "stopped"), utc_now()
        else:
            _interrupt(job, workspace, f"the job's process ended (exit code {code}) without recording a result")
    if lost_import:  # what it staged and stored goes now, as a restart would remove it
        from classmill.server.services.imports import remove_lost_import_files

        remove_lost_import_files(session, workspace, job_id)


# ---- the job process's side: every write guarded by the attempt ----

def claim_attempt(session: Session, job_id: int, attempt: str) -> Job | None:
    """queued -> running for this process, or None when the attempt is not the job's current one."""
    now = utc_now()
    with writing(session):
        changed = session.execute(update(Job).where(Job.id == job_id, Job.attempt == attempt, Job.state == "queued")
                                  .values(state="running", pid=os.getpid(), host=socket.gethostname(), started_at=now,
                                          heartbeat_at=now, progress_phase="starting"))
        if changed.rowcount == 0:
            return None
    return session.get(Job, job_id, populate_existing=True)


def record_progress(session: Session, job_id: int, attempt: str, phase: str | None = None, done: int = 0,
                    total: int = 0) -> bool:
    """Progress (or, with phase None, a bare heartbeat); False when the attempt is stale."""
    values = {"heartbeat_at": utc_now()}
    if phase is not None:
        values.update(progress_phase=phase, progress_done=done, progress_total=total)
    return _guarded(session, job_id, attempt, values)


def end_attempt(session: Session, job_id: int, attempt: str, state: str, result: dict | None = None,
                error: str = "", from_states: tuple[str, ...] = ("running",)) -> bool:
    """Record the attempt's end (succeeded/failed/stopped/paused); False when the attempt is stale."""
    values = {"state": state, "finished_at": utc_now(), "heartbeat_at": utc_now(), "error": error}
    if result is not None:
        values["result"] = result
    return _guarded(session, job_id, attempt, values, from_states)


def _guarded(session: Session, job_id: int, attempt: str, values: dict,
             from_states: tuple[str, ...] = ("running",)) -> bool:
    with writing(session):
        changed = session.execute(update(Job).where(Job.id == job_id, Job.attempt == attempt,
                                                     Job.state.in_(from_states)).values(**values))
        return changed.rowcount == 1

