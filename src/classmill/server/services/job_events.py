"""A job's live events: each line of its run folder's events.jsonl, its row's changes, and a summary.

What GET /api/v1/jobs/{id}/events streams (the route turns these into Server-Sent Events):
- `LineEvent`: every line of events.jsonl once, numbered from 1 (its SSE id), so a client that
  reconnects after line N (Last-Event-ID) gets N+1 onwards, nothing twice and nothing skipped;
- `JobChange`: the job row whenever its state, progress, error or queue position changes (a
  queued job's position, then its start, then its final state);
- `SummaryChange`: where the run stands (classmill.train.run_progress: epoch, step, images/s,
  ETA, latest loss and validation, the best so far) after each batch of new lines that changed it.
  A reconnecting client gets it whole, since every line is folded in, sent or not. The loss and
  accuracy curves are the epoch lines themselves (one point each), not repeated here;
- `Heartbeat` after a quiet spell, so proxies keep the connection open;
- `StreamEnd` once the job is in a final state and every complete line was sent (or the job is gone).

Jobs whose params name a run folder have lines; others (imports) only their row's changes. The
file and the database are read in worker threads; the event loop only sleeps between polls:
the file every `line_poll_s` (a stat-sized read when nothing was appended), the row every
`job_poll_s` (one primary-key query).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Union

from sqlalchemy.orm import Session, sessionmaker

from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.jobs.executor import Executor
from classmill.server.jobs.train_job import run_events_file
from classmill.server.services import imports
from classmill.server.services.jobs import JobView, queue_position
from classmill.train.events import EventLogTail
from classmill.train.run_progress import RunProgress

ACTIVE_STATES = ("queued", "running")
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")  # what may name an SSE event (no spaces, no newlines)


@dataclass(frozen=True)
class StreamTiming:
    line_poll_s: float = 0.1
    job_poll_s: float = 1.0
    heartbeat_s: float = 15.0


@dataclass(frozen=True)
class LineEvent:
    number: int  # the line's number in events.jsonl, from 1
    type: str
    data: str  # the line's JSON, one line


@dataclass(frozen=True)
class JobChange:
    view: JobView


@dataclass(frozen=True)
class SummaryChange:
    summary: dict


@dataclass(frozen=True)
class Heartbeat:
    pass


@dataclass(frozen=True)
class StreamEnd:
    state: str  # the job's final state, or "deleted"


StreamItem = Union[LineEvent, JobChange, SummaryChange, Heartbeat, StreamEnd]


@dataclass(frozen=True)
class JobEventSource:
    """One checked job to follow: opened (ownership checked) before the response starts."""

    job_id: int
    events_file: Path | None
    after: int  # lines the client already has


def open_job_events(session: Session, user: User, workspace: Path, job_id: int, after: int = 0) -> JobEventSource:
    """Check the user may see the job (NotFound like GET /jobs/{id} otherwise) and find its events file."""
    job = imports.get_job(session, user, job_id)
    return JobEventSource(job.id, run_events_file(workspace, job.params or {}), max(0, after))


async def follow_job(source: JobEventSource, sessions: sessionmaker[Session], executor: Executor,
                     timing: StreamTiming = StreamTiming()) -> AsyncIterator[StreamItem]:
    """The job's events until it has ended and its last line was sent (see the module's docstring)."""
    tail = EventLogTail(source.events_file) if source.events_file is not None else None
    progress, summary = RunProgress(), None
    job_key, final, next_job_poll, last_sent = None, None, 0.0, time.monotonic()
    while True:
        if time.monotonic() >= next_job_poll:
            view = await asyncio.to_thread(_read_job, sessions, executor, source.job_id)
            next_job_poll = time.monotonic() + timing.job_poll_s
            if view is None:
                yield StreamEnd("deleted")
                return
            key = _change_key(view)
            if key != job_key:
                job_key, last_sent = key, time.monotonic()
                yield JobChange(view)
            final = view.job.state if view.job.state not in ACTIVE_STATES else None
        # Read after the row: a final state seen above means every line its process wrote is in the file now.
        lines = await asyncio.to_thread(tail.read) if tail is not None else []
        for number, event, text in _parsed(lines):
            progress.add(event)
            if number > source.after:
                last_sent = time.monotonic()
                yield LineEvent(number, event["type"], text)
        if lines and (current := progress.to_dict()) != summary:
            summary, last_sent = current, time.monotonic()
            yield SummaryChange(summary)
        if tail is not None and tail.more:
            continue  # a backlog (a reconnect to a long run): read on before sleeping
        if final is not None:
            yield StreamEnd(final)
            return
        if time.monotonic() - last_sent >= timing.heartbeat_s:
            last_sent = time.monotonic()
            yield Heartbeat()
        await asyncio.sleep(timing.line_poll_s)


def _read_job(sessions: sessionmaker[Session], executor: Executor, job_id: int) -> JobView | None:
    with sessions() as session:
        job = session.get(Job, job_id)
        return None if job is None else JobView(job, queue_position(executor, job))


def _change_key(view: JobView) -> tuple:
    job = view.job
    return (job.state, job.attempt, job.progress_phase, job.progress_done, job.progress_total, job.error,
            view.queue_position)


def _parsed(lines: list[tuple[int, str | None]]):
    """(number, event, its JSON as one SSE data line) for each line holding a JSON object with a plain type;
    the others are counted (their numbers stay taken), never sent."""
    for number, text in lines:
        if text is None:
            continue
        odd: list[str] = []
        try:
            event = json.loads(text, parse_constant=lambda name: odd.append(name))  # NaN, Infinity -> None
        except ValueError:
            continue  # a line cut by a killed process, with the next attempt's line after it
        if isinstance(event, dict) and isinstance(event.get("type"), str) and _EVENT_TYPE.fullmatch(event["type"]):
            # Browsers' JSON.parse refuses NaN (a diverged loss): such a line goes out with null instead.
            # A raw CR can only be JSON whitespace (strict JSON has none inside strings), yet it ends an SSE line.
            yield number, event, (json.dumps(event, ensure_ascii=False) if odd else text.replace("\r", ""))
