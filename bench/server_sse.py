"""Live job events: `python -m bench sse`.

How long a line the training engine appends to a run's events.jsonl takes to reach a browser
following the job (GET /api/v1/jobs/{id}/events, Server-Sent Events), through the real
`classmill server` (server_process.py) on SQLite and on PostgreSQL. The benchmark plays the
job's process: it records a running "train" job row whose run folder it writes (no training
runs, so the figures are the server's alone), appends lines with the engine's own writer
(classmill.train.events.EventLog: one append + fsync per line) at random 30–70 ms gaps, and
times each line from just before its write until a client has parsed it — for one client, and
for several following the same job at once. Also: the time from the job's final state being
recorded to the stream's `end` event. The server polls the file every 0.1 s and the job row
every 1 s (services/job_events.StreamTiming), so those bound the figures.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx

from bench.plan import BenchPlan
from bench.server_platform import on_both_backends, set_up
from bench.server_process import running_server
from bench.stats import percentile

RUN = "sse-bench"


class _Client:
    """Follows the job's stream in a thread; keeps when each line (by id) and the end arrived."""

    def __init__(self, base: str, token: str, job_id: int) -> None:
        self.arrived: dict[int, float] = {}
        self.ended_at: float | None = None
        self.opened = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._follow, args=(base, token, job_id), daemon=True)
        self._thread.start()

    def _follow(self, base: str, token: str, job_id: int) -> None:
        from classmill.server.api.sse import read_messages

        try:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
                with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as response:
                    response.raise_for_status()
                    for message in read_messages(response.iter_lines()):
                        now = time.perf_counter()
                        if message.id is not None:
                            self.arrived[int(message.id)] = now
                        elif message.event == "job":
                            self.opened.set()
                        elif message.event == "end":
                            self.ended_at = now
        except BaseException as exc:  # noqa: BLE001 - reported with the figures
            self.error = exc
        finally:
            self.opened.set()

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)


def _record_running_job(database_url: str, owner_id: int, run: str) -> tuple[int, str]:
    """A running "train" job row of the bench user, as a job process leaves it: (id, attempt)."""
    from classmill.server.db.base import utc_now
    from classmill.server.db.jobs import Job
    from classmill.server.db.session import make_engine, session_factory, writing
    from classmill.server.services.jobs import new_attempt

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session, writing(session):
            job = Job(kind="train", attempt=new_attempt(), owner_id=owner_id, params={"run": run}, state="running",
                      progress_phase="train", started_at=utc_now(), heartbeat_at=utc_now())
            session.add(job)
        return job.id, job.attempt
    finally:
        engine.dispose()


def _end_job(database_url: str, job_id: int, attempt: str) -> None:
    from classmill.server.db.session import make_engine, session_factory
    from classmill.server.services.jobs import end_attempt

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            if not end_attempt(session, job_id, attempt, "succeeded"):
                raise RuntimeError(f"job {job_id} could not be ended")
    finally:
        engine.dispose()


def _ms(values: list[float], q: float) -> float | None:
    found = percentile(values, q)
    return None if found is None else round(found, 1)


def measure_latency(base: str, token: str, database_url: str, workspace: Path, owner_id: int, events: int,
                    clients: int, seed: int) -> dict:
    """`clients` streams follow one job while `events` lines are appended; latency per line per client."""
    from classmill.train.events import EventLog

    run = f"{RUN}-{clients}-{seed}"  # a run folder per measurement: no client sees another's lines
    job_id, attempt = _record_running_job(database_url, owner_id, run)
    folder = workspace / "runs" / run
    folder.mkdir(parents=True)
    log = EventLog(folder / "events.jsonl")
    followers = [_Client(base, token, job_id) for _ in range(clients)]
    for follower in followers:
        if not follower.opened.wait(30) or follower.error is not None:
            raise RuntimeError(f"a client could not open the stream: {follower.error!r}")
    rng, written = random.Random(seed), {}
    for number in range(1, events + 1):
        time.sleep(rng.uniform(0.03, 0.07))
        written[number] = time.perf_counter()
        log.write({"type": "step", "epoch": 0, "step": number, "steps_per_epoch": events, "loss": 1.0 / number,
                   "lr": 0.01, "images_per_s": 100.0, "eta_s": float(events - number)})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(len(f.arrived) < events for f in followers):
        time.sleep(0.05)
    ended = time.perf_counter()
    _end_job(database_url, job_id, attempt)
    for follower in followers:
        follower.join(30)
    latencies = [(f.arrived[n] - written[n]) * 1000 for f in followers for n in written if n in f.arrived]
    missing = sum(events - len(f.arrived) for f in followers)
    end_ms = [(f.ended_at - ended) * 1000 for f in followers if f.ended_at is not None]
    errors = [repr(f.error) for f in followers if f.error is not None]
    if missing or errors or len(end_ms) < clients:
        raise RuntimeError(f"{missing} line(s) never arrived, {clients - len(end_ms)} stream(s) did not end; "
                           f"errors: {errors[:2]}")
    return {"events": events, "clients": clients, "latency_ms_p50": _ms(latencies, 50),
            "latency_ms_p99": _ms(latencies, 99), "latency_ms_max": round(max(latencies), 1),
            "end_ms_p50": _ms(end_ms, 50), "end_ms_max": round(max(end_ms), 1)}


def measure_backend(plan: BenchPlan, workdir: Path, backend: str, database_url: str | None) -> dict:
    from classmill.server.settings import load_settings

    workspace = workdir / f"workspace-sse-{backend}"
    results: dict = {"status": "ok"}
    with running_server(workspace, database_url, workdir / f"server-sse-{backend}.log") as server:
        url = database_url or load_settings(workspace=workspace).resolved_database_url
        token = set_up(server.url)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as api:
            owner_id = api.get("/api/v1/me").json()["id"]
        for clients in plan.sse_clients:
            name = f"clients_{clients}"
            try:
                results[name] = {"status": "ok", **measure_latency(server.url, token, url, workspace, owner_id,
                                                                   plan.sse_events, clients, seed=clients)}
            except Exception as exc:  # noqa: BLE001 - one failed figure must not lose the others
                results[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
                print(f"    {backend} / {name}: failed ({results[name]['reason']})", flush=True)
    return results


def run_sse_benchmark(plan: BenchPlan, workdir: Path) -> dict:
    results: dict = {"events": plan.sse_events, "clients": list(plan.sse_clients)}
    results["backends"] = on_both_backends(lambda backend, url: measure_backend(plan, workdir, backend, url))
    return results
