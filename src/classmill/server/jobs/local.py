"""LocalExecutor: each job is its own OS process on this machine, with concurrency slots per job class.

Why processes and not threads: a training holds the GIL, gigabytes of memory and possibly a GPU;
its own process can be paused, stopped or killed without touching the server, survives a
server restart (the next start re-attaches it, services/jobs.reconcile_jobs), and a crash in
native code ends only the job.

Stop and pause are signals to the job process alone (SIGTERM, SIGUSR1), not to its process
group: under torchrun the group holds the ranks, which must not be killed mid-step; the job
process turns the signal into the library's control-file request so the engine checkpoints
first. Only `shutdown(terminate=True)` signals the whole group, with SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from classmill.server.jobs.executor import LIGHT, TRAINING, TRAINING_KINDS, Executor, ExecutorStatus, job_class
from classmill.server.processes import process_alive

log = logging.getLogger(__name__)
ENTRY_MODULE = "classmill.server.jobs.entry"
STOP_SIGNAL, PAUSE_SIGNAL = signal.SIGTERM, signal.SIGUSR1
# (job_id, attempt, exit code or None when not our child, the stop/pause asked of it or None)
ExitCallback = Callable[[int, str, "int | None", "str | None"], None]


@dataclass
class _Job:
    job_id: int
    attempt: str
    kind: str
    process: subprocess.Popen | None = None
    pid: int | None = None  # set when started (or adopted)
    requested: list[str] = field(default_factory=list)


def job_log_path(workspace: Path, job_id: int, attempt: str) -> Path:
    return workspace / "jobs" / f"job-{job_id}" / f"{attempt}.log"


class LocalExecutor(Executor):
    """Runs `python -m <entry_module> --job ID --attempt A --workspace W` per job.

    limits: slots per job class ({"training": 1, "light": 2}); training_kinds: the kinds in the training class. on_exit: called (outside any lock, from
    the watcher thread) when a job process has ended, so the server can record an end its process
    could not (killed, crashed). env: extra environment for the job processes (the database URL).
    """

    def __init__(self, workspace: Path, limits: dict[str, int], on_exit: ExitCallback, *,
                 env: dict[str, str] | None = None, entry_module: str = ENTRY_MODULE, poll_s: float = 0.1,
                 training_kinds: frozenset[str] = TRAINING_KINDS) -> None:
        self.workspace, self.limits, self.on_exit = Path(workspace), dict(limits), on_exit
        self.env, self.entry_module, self.poll_s = dict(env or {}), entry_module, poll_s
        self.training_kinds = frozenset(training_kinds)
        self._queues: dict[str, deque[_Job]] = {TRAINING: deque(), LIGHT: deque()}
        self._running: dict[int, _Job] = {}
        self._detached: dict[int, subprocess.Popen] = {}  # our children left running at a shutdown, by pid
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._watcher: threading.Thread | None = None  # started on first use, again after a shutdown

    # ---- the interface ----

    def submit(self, job_id: int, attempt: str, kind: str) -> ExecutorStatus:
        with self._lock:
            self._ensure_watcher()
            self._forget(job_id)  # a resubmission replaces an older queued attempt
            self._queues[self._class(kind)].append(_Job(job_id, attempt, kind))
            self._fill()
            return self._status(job_id)

    def cancel(self, job_id: int) -> str:
        return self._request(job_id, "stop", STOP_SIGNAL)

    def pause(self, job_id: int) -> str:
        return self._request(job_id, "pause", PAUSE_SIGNAL)

    def status(self, job_id: int) -> ExecutorStatus:
        with self._lock:
            return self._status(job_id)

    def adopt(self, job_id: int, attempt: str, kind: str, pid: int) -> None:
        with self._lock:
            self._ensure_watcher()
            # Re-attaching our own child (a shutdown and start in one process): keep its handle, so its
            # exit is reaped instead of leaving a zombie that looks alive forever.
            self._running[job_id] = _Job(job_id, attempt, kind, process=self._detached.pop(pid, None), pid=pid)

    def shutdown(self, terminate: bool = False) -> None:
        with self._lock:
            self._closed.set()
            for queue in self._queues.values():
                queue.clear()  # their rows stay queued: the next start submits them again
            running = list(self._running.values())
            self._detached.update({job.pid: job.process for job in running if job.process is not None})
            self._running.clear()  # a later start re-attaches the live ones (reconcile_jobs)
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.join()
        if terminate:
            for job in running:
                _kill_group(job.pid)
                if job.process is not None:
                    job.process.wait()

    # ---- inside ----

    def _ensure_watcher(self) -> None:
        if self._watcher is None:
            self._closed = threading.Event()
            self._watcher = threading.Thread(target=self._watch, args=(self._closed,), name="classmill-jobs",
                                             daemon=True)
            self._watcher.start()

    def _status(self, job_id: int) -> ExecutorStatus:
        # The queue first: a resumed job is queued while its previous attempt's process is still exiting.
        for queue in self._queues.values():
            for position, queued in enumerate(queue, start=1):
                if queued.job_id == job_id:
                    return ExecutorStatus("queued", queue_position=position)
        job = self._running.get(job_id)
        return ExecutorStatus("running", pid=job.pid) if job is not None else ExecutorStatus("unknown")

    def _class(self, kind: str) -> str:
        return job_class(kind, self.training_kinds)

    def _forget(self, job_id: int) -> bool:
        for queue in self._queues.values():
            for queued in list(queue):
                if queued.job_id == job_id:
                    queue.remove(queued)
                    return True
        return False

    def _request(self, job_id: int, action: str, signum: int) -> str:
        with self._lock:
            if self._forget(job_id):
                self._fill()
                return "dequeued"
            job = self._running.get(job_id)
            if job is None or job.pid is None:
                return "unknown"
            job.requested.append(action)
            try:
                os.kill(job.pid, signum)
            except ProcessLookupError:
                return "unknown"  # it has just ended; the watcher records how
            return "requested"

    def _fill(self) -> None:
        """Start queued jobs while their class has free slots (called with the lock held)."""
        for cls, queue in self._queues.items():
            # A resumed job waits for its previous attempt's process to be gone (it records "paused" just
            # before it exits): two processes of one job must never run, nor share a slot's bookkeeping.
            while queue and queue[0].job_id not in self._running \
                    and sum(self._class(j.kind) == cls for j in self._running.values()) < self.limits.get(cls, 1):
                self._start(queue.popleft())

    def _start(self, job: _Job) -> None:
        log_path = job_log_path(self.workspace, job.job_id, job.attempt)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", self.entry_module, "--job", str(job.job_id), "--attempt", job.attempt,
                   "--workspace", str(self.workspace)]
        with open(log_path, "ab") as out:
            # Its own session and process group: the server's Ctrl-C does not reach it, and a terminate
            # can take the whole group (torchrun ranks included).
            job.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                           env={**os.environ, **self.env}, start_new_session=True)
        job.pid = job.process.pid
        self._running[job.job_id] = job

    def _watch(self, closed: threading.Event) -> None:
        while not closed.wait(self.poll_s):
            ended = []
            with self._lock:
                for job_id, job in list(self._running.items()):
                    code = job.process.poll() if job.process is not None else (None if process_alive(job.pid) else -1)
                    if code is not None:
                        del self._running[job_id]
                        ended.append((job, code if job.process is not None else None))
            for job, code in ended:
                try:
                    self.on_exit(job.job_id, job.attempt, code, job.requested[-1] if job.requested else None)
                except Exception:  # noqa: BLE001 - one bad record must not stop the watcher of every job
                    log.exception("recording the end of job %s failed", job.job_id)
            if ended:
                with self._lock:
                    if not closed.is_set():
                        self._fill()



def _kill_group(pid: int | None) -> None:
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
