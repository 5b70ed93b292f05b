"""The Executor interface: what the server asks of whatever runs its jobs.

A job is a database row (server/db/jobs.py) with a state machine and an attempt id; services
record it and hand `(job_id, attempt, kind)` to an executor. The executor only decides *when*
and *where* the job's process runs and delivers stop/pause requests to it; the job process
(server/jobs/entry.py) reads its row, writes progress and its result, every write guarded by
its attempt id. So services and routes never depend on which executor runs the jobs.

Concurrency is per job class: "training" jobs (default 1 at a time: one training saturates a
machine) and "light" jobs (imports, evaluations, exports, batch tests) alongside. Each class has
a FIFO queue; a queued job's position (1 = next to start) is visible through `status`.

A Ray executor (next) implements the same five methods, without touching services or routes:
- `submit` becomes a Ray task/actor launch of the same command (`python -m
  classmill.server.jobs.entry --job ID --attempt A --workspace W`) with a resource request:
  "pick a training node" is `num_gpus=N` plus a custom resource or node label naming the node
  (`resources={"node:<ip>": 0.01}`), and Ray's scheduler is the queue (queue position = the
  pending tasks ahead of it, from the state API). The workspace must be a shared file system
  (or the run folder synced), since progress and checkpoints live in the run folder.
- N GPUs on one node is `torchrun --nproc-per-node N -m classmill ...` *inside* the job: the
  job process stays one process group leader, rank 0 writes the run folder, the library's
  distributed code does the rest; the executor still sees one job.
- `cancel`/`pause` deliver the same request the local executor does (a signal to the job's
  process, which writes the library's control file so the engine checkpoints first); a
  `ray.cancel(force=True)` is the equivalent of the local SIGKILL, used only at shutdown.
- `status` answers from Ray's task state instead of this process's table; the database row stays
  the truth for users, and the server's reconciliation (services/jobs.reconcile_jobs) works the
  same: a job whose attempt has no live process becomes interrupted with a new attempt id.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

TRAINING = "training"
LIGHT = "light"
TRAINING_KINDS = frozenset({"train"})  # kinds that hold a "training" slot; everything else is light


def job_class(kind: str, training_kinds: frozenset[str] = TRAINING_KINDS) -> str:
    return TRAINING if kind in training_kinds else LIGHT


@dataclass(frozen=True)
class ExecutorStatus:
    """What the executor knows of one job: queued (with its position), running (with its pid), or unknown."""

    state: str  # "queued" | "running" | "unknown" (finished, never submitted, or another server's)
    queue_position: int | None = None  # 1 = next to start in its class
    pid: int | None = None


class Executor(ABC):
    """Runs jobs given as (job_id, attempt, kind); never decides a job's recorded state itself."""

    @abstractmethod
    def submit(self, job_id: int, attempt: str, kind: str) -> ExecutorStatus:
        """Queue the attempt; it starts when its class has a free slot (at once if one is free)."""

    @abstractmethod
    def cancel(self, job_id: int) -> str:
        """Ask the job to stop: "dequeued" (it never started), "requested" (its process was asked), or "unknown"."""

    @abstractmethod
    def pause(self, job_id: int) -> str:
        """Ask the job to checkpoint and pause (its slot frees when its process exits); same answers as cancel."""

    @abstractmethod
    def status(self, job_id: int) -> ExecutorStatus:
        """Whether the job is queued (and where) or running here."""

    @abstractmethod
    def adopt(self, job_id: int, attempt: str, kind: str, pid: int) -> None:
        """Count a job process a previous server started (still alive) as running here, and watch it end."""

    @abstractmethod
    def shutdown(self, terminate: bool = False) -> None:
        """Stop accepting work. terminate=False leaves running job processes alive (the next start re-attaches
        them); terminate=True kills them (tests, and a server told to take its jobs down)."""
