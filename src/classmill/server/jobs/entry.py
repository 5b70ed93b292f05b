"""What a job process runs: `python -m classmill.server.jobs.entry --job ID --attempt A --workspace W`.

It claims its attempt (queued -> running, with its pid and host), runs the job's kind, records
progress, a heartbeat and the end. Every write names the attempt (services/jobs.py); when one
changes no row, the server has replaced this attempt, and the process stops its work and exits
without writing anything more. The database comes from the settings (CLASSMILL_DATABASE_URL in
the environment the executor gives it).

SIGTERM asks for a stop and SIGUSR1 for a pause: the kind passes the request to the library
(a training's control file), which checkpoints before it exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from classmill.errors import UserError
from classmill.server.db.session import make_engine, session_factory
from classmill.server.jobs.int8_job import INT8_KIND
from classmill.server.services import jobs
from classmill.server.settings import load_settings

log = logging.getLogger("classmill.server.jobs.entry")
EXIT_STALE = 3  # the attempt is not (or no longer) the job's: nothing was committed
PROGRESS_INTERVAL_S = 1.0


@dataclass
class JobContext:
    """One attempt as its kind sees it: params, workspace, progress reporting and stop/pause requests."""

    job_id: int
    attempt: str
    kind: str
    params: dict
    workspace: Path
    sessions: sessionmaker[Session]
    action: str | None = None  # "stop" | "pause", once asked
    stale: bool = False
    on_request: Callable[[str], None] | None = None  # a kind's way to pass a request on (a control file)
    _session: Session | None = None
    _last_write: float = float("-inf")
    _memo: dict = field(default_factory=dict)
    _passing_on: list[threading.Thread] = field(default_factory=list)

    def requested(self) -> str | None:
        return "stop" if self.stale else self.action

    def ask(self, action: str) -> None:
        if self.action != "stop":  # a stop is never downgraded to a pause
            self.action = action
        if self.on_request is not None:  # off the signal handler: it reads and writes files
            thread = threading.Thread(target=self.on_request, args=(self.action,), daemon=True)
            self._passing_on.append(thread)
            thread.start()

    def requests_passed_on(self, timeout: float = 10.0) -> None:
        """Wait for the requests being passed on (a kind calls it before tidying what they wrote)."""
        for thread in self._passing_on:
            thread.join(timeout)

    def report(self, phase: str, done: int, total: int, force: bool = False) -> None:
        """Record progress (at most once a second unless forced); a stale attempt turns into a stop request."""
        now = time.monotonic()
        if self.stale or (not force and now - self._last_write < PROGRESS_INTERVAL_S):
            return
        self._last_write = now
        if self._session is None:
            self._session = self.sessions()
        if not jobs.record_progress(self._session, self.job_id, self.attempt, phase, int(done), int(total)):
            self.stale = True

    def event(self, event: dict) -> None:
        """A library event (classmill.progress, or a training's events.jsonl line) as the job's progress."""
        kind = event.get("type")
        if kind == "progress":
            self.report(event["phase"], event["done"], event["total"], force=event["done"] in (0, event["total"]))
        elif kind == "start":
            self._memo.update(epochs=event["epochs"], steps=event["steps_per_epoch"])
            self.report("train", event["epoch"] * event["steps_per_epoch"] + event["step"],
                        event["epochs"] * event["steps_per_epoch"], force=True)
        elif kind in ("step", "epoch", "status") and self._memo:
            # A pause or stop's status names the step it checkpointed at, past the last (throttled) step event:
            # the row must say where Resume continues from.
            steps = self._memo["steps"]
            done = event["epoch"] * steps + (event["step"] if kind != "epoch" else 0)
            self.report("train", done, self._memo["epochs"] * steps, force=kind != "step")


KindFunction = Callable[[JobContext], "tuple[str, dict]"]
RECORDED = "recorded"  # a kind's answer when it recorded its own end under the attempt's guard (an import)


def _train(ctx: JobContext) -> tuple[str, dict]:
    """Train (or resume, or extend) the run; a task's finished run then becomes a model version."""
    from classmill.server.jobs.train_job import run_folder, run_train
    from classmill.train.control import clear_request

    folder = run_folder(ctx.workspace, ctx.params)
    ctx.on_request = lambda action: _ask_run(folder, action)
    try:
        state, summary = run_train(ctx.workspace, ctx.params, ctx.event, ctx.requested)
    finally:
        # The engine also sees ctx.requested() at every step, so it can pause and clear the control file
        # before the thread passing the request on writes it; nothing would ever read that file.
        ctx.requests_passed_on()
        clear_request(folder)
    if state != "succeeded" or "task_id" not in ctx.params or ctx.stale:
        return state, summary
    return state, {**summary, "model_version_id": _build_model_version(ctx, folder, summary)}


def _build_model_version(ctx: JobContext, folder: Path, summary: dict) -> int | None:
    from classmill.server.jobs.model_build import build_model_files
    from classmill.server.services.model_versions import commit_model_version

    ctx.report("evaluate", 0, 1, force=True)
    built = build_model_files(ctx.workspace, folder, ctx.job_id, ctx.attempt,
                              tuple(ctx.params.get("splits", ["val"])), ctx.event)
    with ctx.sessions() as session:
        version = commit_model_version(session, ctx.job_id, ctx.attempt, ctx.params["task_id"], built, summary,
                                       ctx.workspace)
        if version is None:
            ctx.stale = True
            return None
        return version.id


def _ask_run(folder: Path, action: str) -> None:
    from classmill.errors import RunStateError
    from classmill.train.control import request

    try:
        request(folder, action)
    except (RunStateError, OSError):
        pass  # not training yet (or already done): the engine also asks ctx.requested() at every step


def _batch_test(ctx: JobContext) -> tuple[str, dict]:
    """A model version over every image of an uploaded zip (light: it runs beside training)."""
    from classmill.server.jobs.batch_test_job import run_batch_test

    def report(phase: str, done: int, total: int) -> None:
        ctx.report(phase, done, total, force=done in (0, total))

    return run_batch_test(ctx.workspace, ctx.params, report, ctx.requested)


def _export_int8(ctx: JobContext) -> tuple[str, dict]:
    """A model version's INT8 bundle, measured against FP32 on the run's validation split."""
    from classmill.server.jobs.int8_job import run_int8_export

    return run_int8_export(ctx)


def _import(ctx: JobContext) -> tuple[str, dict]:
    """A dataset import (light): the library's check, the store, the new version; it records its own end."""
    from classmill.server.services.import_job import run_claimed_import
    from classmill.server.store.layout import StoreLayout

    stopping = threading.Event()
    ctx.on_request = lambda action: stopping.set()  # a stop or pause both end it as "failed: retry it"
    if ctx.requested():
        stopping.set()
    run_claimed_import(ctx.sessions, StoreLayout(ctx.workspace), ctx.job_id, ctx.attempt, stopping)
    return RECORDED, {}


KINDS: dict[str, KindFunction] = {"train": _train, "batch_test": _batch_test, INT8_KIND: _export_int8,
                                  "import": _import}


def register_kind(name: str, function: KindFunction) -> None:
    """Add a job kind to this process (refusing a duplicate); tests use it through their own entry module."""
    if name in KINDS:
        raise ValueError(f"job kind {name!r} is already registered")
    KINDS[name] = function


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classmill.server.jobs.entry")
    parser.add_argument("--job", type=int, required=True)
    parser.add_argument("--attempt", required=True)
    parser.add_argument("--workspace", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asked: list[str] = []  # requests that arrive before the context exists
    holder: list[JobContext] = []

    def on_signal(signum, _frame) -> None:
        action = "pause" if signum == signal.SIGUSR1 else "stop"
        holder[0].ask(action) if holder else asked.append(action)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGUSR1, on_signal)
    settings = load_settings(workspace=args.workspace)
    sessions = session_factory(make_engine(settings.resolved_database_url))
    with sessions() as session:
        job = jobs.claim_attempt(session, args.job, args.attempt)
        if job is None:
            log.warning("job %s: attempt %s is not current; nothing done", args.job, args.attempt)
            return EXIT_STALE
        ctx = JobContext(job.id, args.attempt, job.kind, dict(job.params), settings.workspace, sessions)
    holder.append(ctx)
    for action in asked:
        ctx.ask(action)
    return _run(ctx, settings.job_heartbeat_s)


def _run(ctx: JobContext, heartbeat_s: float) -> int:
    beating = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(ctx, heartbeat_s, beating), daemon=True)
    beat.start()
    result, error = None, ""
    try:
        function = KINDS.get(ctx.kind)
        if function is None:
            raise UserError(f"this server cannot run jobs of kind {ctx.kind!r} (it knows {', '.join(sorted(KINDS))}).")
        state, result = function(ctx)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the job must end with a reason
        from classmill.train.failure import failure_reason

        if not isinstance(exc, UserError):
            log.exception("job %s failed", ctx.job_id)
        state, error = "failed", failure_reason(exc)
    finally:
        beating.set()
        beat.join()
    if ctx.stale:
        log.warning("job %s: attempt %s was replaced; its end (%s) is not recorded", ctx.job_id, ctx.attempt, state)
        return EXIT_STALE
    if state == RECORDED:
        return 0
    with ctx.sessions() as session:
        if not jobs.end_attempt(session, ctx.job_id, ctx.attempt, state, result, error):
            log.warning("job %s: attempt %s was replaced; its end (%s) is not recorded", ctx.job_id, ctx.attempt, state)
            return EXIT_STALE
    return 0


def _heartbeat(ctx: JobContext, every_s: float, done: threading.Event) -> None:
    with ctx.sessions() as session:
        while not done.wait(every_s):
            if not jobs.record_progress(session, ctx.job_id, ctx.attempt):
                ctx.stale = True
                return


if __name__ == "__main__":
    sys.exit(main())
