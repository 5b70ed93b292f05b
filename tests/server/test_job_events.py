"""Following jobs: the job list, the live event stream (Server-Sent Events) and the job log.

On SQLite and PostgreSQL (the `settings` fixture), through a real uvicorn (TestClient would hold a
stream back until it ends). Jobs are the test kinds of tests/support/job_kinds.py run by a real
LocalExecutor ("chatter" writes a training's events.jsonl over time), or rows written by the test
when it must control each byte of the file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from classmill.server.api.sse import Message, read_messages
from classmill.server.app import create_app
from classmill.server.db.base import utc_now
from classmill.server.db.jobs import Job
from classmill.server.db.models import Role, User
from classmill.server.db.session import writing
from classmill.server.jobs.local import job_log_path
from classmill.server.jobs.train_job import run_folder
from classmill.server.services import jobs
from classmill.server.services.job_events import Heartbeat, JobChange, StreamTiming, follow_job, open_job_events
from classmill.server.services.passwords import Passwords
from classmill.server.services.tokens import create_token
from classmill.server.services.users import create_user
from classmill.server.state import STATE_ATTRIBUTE
from support.job_runner import Runner
from support.server_accounts import assert_problem
from support.threaded_server import serving
from support.training import wait_for


@dataclass
class World:
    runner: Runner
    executor: object
    url: str
    alice: httpx.Client  # the runner's user, a member
    bob: httpx.Client  # another member
    admin: httpx.Client

    def row(self, kind: str = "train", state: str = "running", owner: User | None = None, **params) -> Job:
        """A job row no process runs: the test plays its process (the file, the end)."""
        with self.runner.sessions() as session, writing(session):
            job = Job(kind=kind, attempt=jobs.new_attempt(), owner_id=(owner or self.runner.user).id, params=params,
                      state=state, started_at=utc_now() if state != "queued" else None)
            session.add(job)
        return job

    def end(self, job: Job, state: str = "succeeded") -> None:
        with self.runner.sessions() as session:
            assert jobs.end_attempt(session, job.id, job.attempt, state)


@pytest.fixture
def world(settings):
    runner = Runner(settings)
    try:
        app = create_app(settings)
        executor = runner.executor(training_jobs=1)
        # The routes take the executor from the app's state: this one runs the test kinds.
        setattr(app.state, STATE_ATTRIBUTE, dataclasses.replace(getattr(app.state, STATE_ATTRIBUTE),
                                                                executor=executor))
        with runner.sessions() as session:
            bob = create_user(session, Passwords(1, 64), "bob", "a-long-password", Role.member)
            root = create_user(session, Passwords(1, 64), "root", "a-long-password", Role.admin)
            secrets = [create_token(session, user, "test").secret for user in (runner.user, bob, root)]
        with serving(app) as url:
            clients = [httpx.Client(base_url=url, headers={"Authorization": f"Bearer {s}"}, timeout=30)
                       for s in secrets]
            try:
                yield World(runner, executor, url, *clients)
            finally:
                for client in clients:
                    client.close()
    finally:
        runner.close()


class Follower:
    """Reads a job's event stream in a thread, keeping each message with the wall-clock time it arrived."""

    def __init__(self, client: httpx.Client, job_id: int, headers: dict | None = None,
                 params: dict | None = None) -> None:
        self.messages: list[tuple[float, Message]] = []
        self.status: int | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        args = (client, f"/api/v1/jobs/{job_id}/events", headers or {}, params or {})
        threading.Thread(target=self._read, args=args, daemon=True).start()

    def _read(self, client, url, headers, params) -> None:
        try:
            with client.stream("GET", url, headers=headers, params=params) as response:
                self.status = response.status_code
                for message in read_messages(response.iter_lines()):
                    self.messages.append((time.time(), message))
        except BaseException as exc:  # noqa: BLE001 - shown by the test that waits
            self.error = exc
        finally:
            self.done.set()

    def finish(self, timeout: float = 30) -> list[Message]:
        assert self.done.wait(timeout), "the stream did not end"
        assert self.error is None, repr(self.error)
        assert self.status == 200
        return [m for _, m in self.messages]

    def lines(self) -> list[Message]:
        return [m for _, m in list(self.messages) if m.id is not None]


def _read_all(client: httpx.Client, job_id: int, headers: dict | None = None, params: dict | None = None,
              stop_at_id: int | None = None) -> list[Message]:
    """The stream's messages until it ends (or, with stop_at_id, until that line, then hang up)."""
    got = []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=headers or {}, params=params or {}) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for message in read_messages(r.iter_lines()):
            got.append(message)
            if stop_at_id is not None and message.id == str(stop_at_id):
                break
    return got


def _ids(messages: list[Message]) -> list[int]:
    return [int(m.id) for m in messages if m.id is not None]


def test_events_arrive_as_the_job_writes_them_from_its_queue_place_to_its_end(world):
    blocker = world.runner.submit(world.executor, kind="sleep", steps=6, step_s=0.2)  # holds the training slot
    steps = 8
    job_id = world.runner.submit(world.executor, kind="chatter", run="live", steps=steps, step_s=0.3)
    follower = Follower(world.alice, job_id)
    messages = follower.finish(timeout=60)
    world.runner.wait_state(world.executor, blocker, "succeeded")

    jobs_seen = [json.loads(m.data) for m in messages if m.event == "job"]
    assert (jobs_seen[0]["state"], jobs_seen[0]["queue_position"]) == ("queued", 1)  # waiting behind the blocker
    assert "running" in [j["state"] for j in jobs_seen] and jobs_seen[-1]["state"] == "succeeded"
    assert messages[-1].event == "end" and json.loads(messages[-1].data) == {"state": "succeeded"}

    written = (run_folder(world.runner.settings.workspace, {"run": "live"}) / "events.jsonl").read_text()
    lines = [m for m in messages if m.id is not None]
    assert _ids(lines) == list(range(1, len(written.splitlines()) + 1)) == list(range(1, steps + 4))
    assert [json.loads(m.data) for m in lines] == [json.loads(line) for line in written.splitlines()]
    assert [m.event for m in lines] == ["start"] + ["step"] * steps + ["epoch", "status"]
    # Live, not at the end: the first step arrived before the last one was written.
    arrived = {m.id: at for at, m in follower.messages if m.id is not None}
    assert arrived["2"] < json.loads(lines[steps].data)["time"]

    summary = json.loads([m for m in messages if m.event == "summary"][-1].data)
    assert summary["epoch"] == 1 and summary["epochs"] == 1 and summary["phase"] == "finished"
    assert (summary["best_epoch"], summary["best_metric"], summary["select_metric"]) == (1, 0.75, "top1")
    assert summary["best_val"] == {"loss": 0.5, "top1": 0.75} and summary["images_per_s"] == 100.0 + steps
    mid = [json.loads(m.data) for m in messages if m.event == "summary" and json.loads(m.data)["phase"] == "train"]
    assert mid and all(s["eta_s"] is not None and s["images_per_s"] for s in mid if s["step"] > 0)


def test_a_reconnect_resumes_after_the_last_event_id_without_repeats_or_gaps(world):
    job_id = world.runner.submit(world.executor, kind="chatter", run="again", steps=10, step_s=0.15)
    first = _read_all(world.alice, job_id, stop_at_id=4)  # hang up after line 4, mid-run
    assert world.runner.state(world.executor, job_id) in ("queued", "running")
    rest = _read_all(world.alice, job_id, headers={"Last-Event-ID": "4"})
    assert _ids(first) == [1, 2, 3, 4] and _ids(rest) == list(range(5, 14))
    assert rest[-1].event == "end"
    # After the end, a client that cannot set headers names the line in the query; a header wins over it.
    assert _ids(_read_all(world.alice, job_id, params={"last_event_id": 11})) == [12, 13]
    assert _ids(_read_all(world.alice, job_id, headers={"Last-Event-ID": "12"}, params={"last_event_id": 2})) == [13]
    assert _ids(_read_all(world.alice, job_id, params={"last_event_id": 13})) == []
    # Every connection starts with the job and the whole run's summary, whatever it skips.
    last = _read_all(world.alice, job_id, params={"last_event_id": 13})
    assert [m.event for m in last] == ["job", "summary", "end"] and json.loads(last[1].data)["epoch"] == 1
    assert_problem(world.alice.get(f"/api/v1/jobs/{job_id}/events", headers={"Last-Event-ID": "x"}), 422)


def test_a_partly_written_line_is_sent_only_once_complete(world):
    job = world.row(run="by-hand")
    events = run_folder(world.runner.settings.workspace, {"run": "by-hand"}) / "events.jsonl"
    follower = Follower(world.alice, job.id)
    assert wait_for(lambda: any(m.event == "job" for _, m in follower.messages), 10)  # no file yet: still open
    events.parent.mkdir(parents=True)
    whole = json.dumps({"type": "step", "epoch": 0, "step": 1, "steps_per_epoch": 2, "loss": 0.9})
    half = json.dumps({"type": "step", "epoch": 0, "step": 2, "steps_per_epoch": 2, "loss": 0.8})
    with open(events, "a") as fh:
        fh.write(whole + "\n" + half[:20])
    assert wait_for(lambda: len(follower.lines()) == 1, 10)
    time.sleep(0.6)  # several polls of the file
    assert len(follower.lines()) == 1 and not follower.done.is_set()
    with open(events, "a") as fh:
        fh.write(half[20:] + "\n" + "{not json\n" + json.dumps({"type": "status", "status": "finished", "epoch": 1,
                                                                  "step": 0}) + "\n" + half[:5])
    assert wait_for(lambda: len(follower.lines()) == 3, 10)
    world.end(job)
    messages = follower.finish()
    lines = [m for m in messages if m.id is not None]
    assert [(m.id, m.event) for m in lines] == [("1", "step"), ("2", "step"), ("4", "status")]  # 3 is not JSON
    assert json.loads(lines[1].data)["loss"] == 0.8 and messages[-1].event == "end"


def test_another_users_job_is_not_found_and_a_job_without_a_run_has_only_its_row(world):
    job = world.row(kind="sleep", state="succeeded", steps=1)
    for path in ("", "/events", "/log"):
        assert_problem(world.bob.get(f"/api/v1/jobs/{job.id}{path}"), 404, "job_not_found")
        assert_problem(world.alice.get(f"/api/v1/jobs/999999{path}"), 404, "job_not_found")
    assert [m.event for m in _read_all(world.admin, job.id)] == ["job", "end"]
    assert [m.event for m in _read_all(world.alice, job.id)] == ["job", "end"]
    outside = world.row(run="../escape")  # a run name the job itself fails on: no file is read
    world.end(outside, "failed")
    assert [m.event for m in _read_all(world.alice, outside.id)] == ["job", "end"]


def test_the_list_pages_newest_first_and_filters_by_kind_and_state(world):
    with world.runner.sessions() as session:
        bob = session.scalar(select(User).where(User.username == "bob"))
    mine = [world.row(kind="train", state="succeeded", run="a"), world.row(kind="import", state="failed"),
            world.row(kind="train", state="queued", run="b"), world.row(kind="train", state="running", run="c")]
    theirs = world.row(kind="train", state="running", owner=bob, run="d")
    page = world.alice.get("/api/v1/jobs", params={"limit": 3}).json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 3, 0)
    assert [j["id"] for j in page["items"]] == [j.id for j in reversed(mine)][:3]
    assert [j["id"] for j in world.alice.get("/api/v1/jobs", params={"limit": 3, "offset": 3}).json()["items"]] \
        == [mine[0].id]
    assert [j["id"] for j in world.alice.get("/api/v1/jobs", params={"kind": "train", "state": "running"})
            .json()["items"]] == [mine[3].id]
    assert world.alice.get("/api/v1/jobs", params={"kind": "import"}).json()["total"] == 1
    assert world.alice.get("/api/v1/jobs", params={"state": "queued"}).json()["items"][0]["queue_position"] is None
    assert [j["id"] for j in world.bob.get("/api/v1/jobs").json()["items"]] == [theirs.id]
    assert world.admin.get("/api/v1/jobs").json()["total"] == 5
    assert_problem(world.alice.get("/api/v1/jobs", params={"state": "done"}), 422)
    assert_problem(world.alice.get("/api/v1/jobs", params={"kind": "../x"}), 422)


def test_the_log_route_gives_an_attempts_output_and_only_the_end_of_a_long_one(world):
    job_id = world.runner.submit(world.executor, kind="chatter", run="talk", steps=3, step_s=0.01)
    world.runner.wait_state(world.executor, job_id, "succeeded")
    attempt = world.runner.view(world.executor, job_id).job.attempt
    answer = world.alice.get(f"/api/v1/jobs/{job_id}/log")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert "step 3 of 3" in answer.text and answer.headers["X-Job-Attempt"] == attempt
    assert answer.headers["X-Job-Attempts"] == attempt and answer.headers["X-Log-Cut"] == "false"

    long = world.row(kind="sleep", state="failed")
    older = jobs.new_attempt()
    path = job_log_path(world.runner.settings.workspace, long.id, older)
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"line {i:07d} of the log\n" for i in range(100_000)))  # 2.3 MB
    cut = world.alice.get(f"/api/v1/jobs/{long.id}/log", params={"attempt": older})
    assert cut.status_code == 200 and cut.headers["X-Log-Cut"] == "true"
    assert int(cut.headers["X-Log-Bytes"]) == path.stat().st_size
    head, first, *_ = cut.text.split("\n", 2)
    assert head.startswith("[classmill: this log has 2,") and first.startswith("line ") and first.endswith("of the log")
    assert cut.text.endswith("line 0099999 of the log\n") and len(cut.content) <= (1 << 20) + len(head) + 1
    # The current attempt has not started: no log yet; an attempt without one, or no attempt id at all, is refused.
    assert world.alice.get(f"/api/v1/jobs/{long.id}/log").text == ""
    assert_problem(world.alice.get(f"/api/v1/jobs/{long.id}/log", params={"attempt": jobs.new_attempt()}), 404,
                   "job_log_not_found")
    assert_problem(world.alice.get(f"/api/v1/jobs/{long.id}/log", params={"attempt": "../../secret"}), 422)


def test_a_quiet_stream_sends_heartbeats_and_a_deleted_job_ends_it(world):
    job = world.row(run="quiet")

    async def collect() -> list:
        with world.runner.sessions() as session:
            source = open_job_events(session, world.runner.user, world.runner.settings.workspace, job.id)
        items = []
        async for item in follow_job(source, world.runner.sessions, world.executor,
                                     StreamTiming(line_poll_s=0.02, job_poll_s=0.05, heartbeat_s=0.1)):
            items.append(item)
            if isinstance(item, Heartbeat) and sum(isinstance(i, Heartbeat) for i in items) == 2:
                await asyncio.to_thread(_delete, world, job)
        return items

    items = asyncio.run(asyncio.wait_for(collect(), 20))
    assert isinstance(items[0], JobChange) and sum(isinstance(i, Heartbeat) for i in items) >= 2
    assert items[-1].state == "deleted"


def _delete(world: World, job: Job) -> None:
    with world.runner.sessions() as session, writing(session):
        session.delete(session.get(Job, job.id))
