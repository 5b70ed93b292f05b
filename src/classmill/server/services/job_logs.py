"""A job process's log (what it printed: warnings, a traceback), one file per attempt, read from its end.

The executor writes <workspace>/jobs/job-<id>/<attempt>.log (server/jobs/local.py); a training can
print for days, so only the last `max_bytes` are read, cut at a line start, under a first line
that says how much was left out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from classmill.server.db.models import User
from classmill.server.errors import NotFound
from classmill.server.jobs.local import job_log_path
from classmill.server.services import imports

MAX_LOG_BYTES = 1 << 20
ATTEMPT_PATTERN = r"^[0-9a-f]{32}$"  # services/jobs.new_attempt; anything else can never name a log file


@dataclass(frozen=True)
class JobLog:
    text: str
    attempt: str
    size: int  # the whole log's bytes (0 when the attempt has not started)
    cut: bool  # only the end is in `text`
    attempts: list[str]  # this job's attempts that have a log, oldest first


def read_job_log(session: Session, user: User, workspace: Path, job_id: int, attempt: str | None = None,
                 max_bytes: int = MAX_LOG_BYTES) -> JobLog:
    """The log of `attempt` (default: the job's current one) of a job the user can see.

    NotFound for a job the user cannot see, or a named attempt without a log; the current attempt of a
    job that has not started yet reads as empty.
    """
    job = imports.get_job(session, user, job_id)
    attempts = _attempts_with_logs(workspace, job.id)
    if attempt is None:
        attempt = job.attempt
    elif not re.fullmatch(ATTEMPT_PATTERN, attempt) or attempt not in attempts:
        raise NotFound(f"job {job_id} has no log of attempt {attempt!r}.",
                       f"Use one of its attempts: {', '.join(attempts) or 'none has started yet'}.",
                       code="job_log_not_found")
    try:
        with open(job_log_path(workspace, job.id, attempt), "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - max_bytes))
            data = fh.read(max_bytes)
    except FileNotFoundError:
        return JobLog("", attempt, 0, False, attempts)
    cut = size > max_bytes
    if cut:
        data = data[data.find(b"\n") + 1:]  # from the first whole line
        head = f"[classmill: this log has {size:,} bytes; only its last {len(data):,} are shown]\n"
        data = head.encode() + data
    return JobLog(data.decode("utf-8", errors="replace"), attempt, size, cut, attempts)


def _attempts_with_logs(workspace: Path, job_id: int) -> list[str]:
    folder = job_log_path(workspace, job_id, "x").parent
    try:
        logs = [p for p in folder.iterdir() if p.suffix == ".log" and re.fullmatch(ATTEMPT_PATTERN, p.stem)]
    except FileNotFoundError:
        return []
    return [p.stem for p in sorted(logs, key=lambda p: (p.stat().st_mtime, p.name))]
