"""The job runner: LocalExecutor processes, concurrency slots and queue, attempt guards, reconciliation.

Runs on SQLite and PostgreSQL (the `settings` fixture). Most tests use the test-only "sleep" kind
(tests/support/job_kinds.py: progress per step, stop/pause honoured between steps, as a
training's steps are); one trains for real through the executor.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys

import pytest
from sqlalchemy import update

from classmill.server.db.base import utc_now
from classmill.server.db.jobs import Job
from classmill.server.db.session import writing
from classmill.server.services import jobs
from classmill.server.state import STATE_ATTRIBUTE
from support.images import csv_of_copies
from support.job_runner import Runner
from support.server_accounts import assert_problem, set_up_admin
from support.training import wait_for


@pytest.fixture
def runner(settings):
    r = Runner(settings)
    yield r
    r.close()


def test_concurrency_one_runs_training_jobs_in_turn_and_light_jobs_alongside(runner):
    executor = runner.executor(training_jobs=1)
    first = runner.submit(executor, steps=10, step_s=0.1)
    second = runner.submit(executor, steps=2, step_s=0.05)
    light = runner.submit(executor, kind="nap", steps=2, step_s=0.05)
    queued = runner.view(executor, second)
    assert (queued.job.state, queued.queue_position) == ("queued", 1)
    assert runner.view(executor, first).queue_position is None
    runner.wait_state(executor, light, "succeeded")  # beside the training, not after it
    assert runner.state(executor, second) == "queued"
    runner.wait_state(executor, second, "succeeded")
    a, b = runner.view(executor, first).job, runner.view(executor, second).job
    assert a.state == "succeeded" and a.result == {"steps_done": 10}
    assert b.started_at >= a.finished_at
    assert (b.progress_phase, b.progress_done, b.progress_total) == ("sleep", 2, 2)


def test_concurrency_two_runs_both_and_stopping_one_leaves_the_other(runner):
    executor = runner.executor(training_jobs=2)
    first = runner.submit(executor, steps=200, step_s=0.05)
    second = runner.submit(executor, steps=60, step_s=0.05)
    assert runner.view(executor, second).queue_position is None
    runner.wait_state(executor, first, "running")
    runner.wait_state(executor, second, "running")
    # "running" is recorded when the attempt is claimed: wait for a step, so the stop lands mid-work
    assert wait_for(lambda: runner.view(executor, first).job.progress_done > 0, 30)
    with runner.sessions() as session:
        assert jobs.stop_job(session, executor, runner.user, first).job.state == "running"  # asked, not yet ended
    runner.wait_state(executor, first, "stopped")
    assert runner.state(executor, second) == "running"
    runner.wait_state(executor, second, "succeeded")
    stopped = runner.view(executor, first).job
    assert 0 < stopped.result["steps_done"] < 200 and stopped.error == ""


def test_a_paused_job_frees_its_slot_and_resumes_under_a_new_attempt(runner):
    executor = runner.executor(training_jobs=1)
    first = runner.submit(executor, steps=200, step_s=0.05)
    second = runner.submit(executor, steps=2, step_s=0.05)
    runner.wait_state(executor, first, "running")
    with runner.sessions() as session:
        jobs.pause_job(session, executor, runner.user, first)
    runner.wait_state(executor, first, "paused")
    runner.wait_state(executor, second, "succeeded")
    old_attempt = runner.view(executor, first).job.attempt
    with runner.sessions() as session:
        resumed = jobs.resume_job(session, executor, runner.user, first)
    assert resumed.job.attempt != old_attempt and resumed.job.state == "queued"
    runner.wait_state(executor, first, "running")
    with runner.sessions() as session:
        jobs.stop_job(session, executor, runner.user, first)
    runner.wait_state(executor, first, "stopped")


def test_a_queued_job_stops_without_running(runner):
    executor = runner.executor(training_jobs=1)
    first = runner.submit(executor, steps=100, step_s=0.05)
    second = runner.submit(executor, steps=2, step_s=0.05)
    with runner.sessions() as session:
        assert jobs.stop_job(session, executor, runner.user, second).job.state == "stopped"
        jobs.stop_job(session, executor, runner.user, first)
    runner.wait_state(executor, first, "stopped")
    assert runner.view(executor, second).job.started_at is None


def test_a_stale_attempt_cannot_commit(runner):
    executor = runner.executor()
    job_id = runner.submit(executor, steps=30, step_s=0.05)
    runner.wait_state(executor, job_id, "running")
    attempt_a = runner.view(executor, job_id).job.attempt
    attempt_b = jobs.new_attempt()
    with runner.sessions() as session, writing(session):  # the server re-issues the job
        session.execute(update(Job).where(Job.id == job_id).values(attempt=attempt_b))
    assert wait_for(lambda: executor.status(job_id).state == "unknown", 20)  # A's process has ended...
    job = runner.view(executor, job_id).job
    assert (job.attempt, job.state, job.result, job.finished_at) == (attempt_b, "running", None, None)  # ...unheard
    with runner.sessions() as session:
        assert not jobs.end_attempt(session, job_id, attempt_a, "succeeded", {"steps_done": 30})
        assert not jobs.record_progress(session, job_id, attempt_a, "sleep", 1, 1)
        assert jobs.claim_attempt(session, job_id, attempt_a) is None
    assert runner.view(executor, job_id).job.result is None


def _running_row(runner, pid: int, heartbeat_age_s: float = 0) -> int:
    from datetime import timedelta

    with runner.sessions() as session, writing(session):
        job = Job(kind="sleep", attempt=jobs.new_attempt(), owner_id=runner.user.id, params={}, state="running",
                  pid=pid, host=socket.gethostname(), started_at=utc_now(),
                  heartbeat_at=utc_now() - timedelta(seconds=heartbeat_age_s))
        session.add(job)
        session.flush()
        return job.id


def test_reconcile_interrupts_dead_processes_and_reattaches_live_ones(runner):
    executor = runner.executor()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_id, live_id = _running_row(runner, gone.pid), _running_row(runner, live.pid)
        silent_id = _running_row(runner, live.pid, heartbeat_age_s=600)  # a live pid, but not this job's beat
        old_attempts = {i: runner.view(executor, i).job.attempt for i in (dead_id, live_id, silent_id)}
        with runner.sessions() as session, writing(session):  # queued when the server stopped: never submitted here
            waiting = Job(kind="nap", attempt=jobs.new_attempt(), owner_id=runner.user.id,
                          params={"steps": 2, "step_s": 0.01}, state="queued")
            session.add(waiting)
        with runner.sessions() as session:
            counts = jobs.reconcile_jobs(session, executor, runner.settings.workspace, heartbeat_timeout_s=60)
        assert counts == {"adopted": 1, "interrupted": 2, "resubmitted": 1}
        runner.wait_state(executor, waiting.id, "succeeded")
        for job_id in (dead_id, silent_id):
            job = runner.view(executor, job_id).job
            assert job.state == "interrupted" and job.attempt != old_attempts[job_id]
            assert job.result == {"resumable": False} and "no checkpoint" in job.error
        assert runner.state(executor, live_id) == "running"
        assert executor.status(live_id).state == "running"  # its slot is counted
    finally:
        live.kill()
        live.wait()
    runner.wait_state(executor, live_id, "interrupted")  # the adopted process ended: never running forever


def test_a_train_job_succeeds_with_the_run_folders_metrics(runner, shared_datasets, tmp_path):
    data = csv_of_copies(shared_datasets / "cifar10-mini", ("airplane", "automobile"), 20, tmp_path, "tiny.csv")
    executor = runner.executor()
    options = {"data": str(data), "epochs": 1, "image_size": 32, "batch_size": 8, "workers": 1,
               "warmup_epochs": 0.0, "pretrained": False}
    job_id = runner.submit(executor, kind="train", run="first", preset="fast", options=options)
    runner.wait_state(executor, job_id, "succeeded", timeout=120)
    job = runner.view(executor, job_id).job
    run = runner.settings.workspace / "runs" / "first"
    metrics = json.loads((run / "metrics.json").read_text())
    assert job.result["run_status"] == "finished" and job.result["epochs_completed"] == 1
    assert job.result["best_metrics"] == metrics["best"]
    assert job.progress_phase == "train" and job.progress_done == job.progress_total > 0


def test_pausing_a_train_job_checkpoints_and_resume_continues(runner, shared_datasets, tmp_path):
    data = csv_of_copies(shared_datasets / "cifar10-mini", ("airplane", "automobile"), 20, tmp_path, "tiny.csv")
    executor = runner.executor()
    options = {"data": str(data), "epochs": 40, "image_size": 32, "batch_size": 8, "workers": 1,
               "warmup_epochs": 0.0, "pretrained": False}
    job_id = runner.submit(executor, kind="train", run="long", preset="fast", options=options)
    assert wait_for(lambda: runner.view(executor, job_id).job.progress_phase == "train", 60)
    with runner.sessions() as session:
        jobs.pause_job(session, executor, runner.user, job_id)
    runner.wait_state(executor, job_id, "paused", timeout=60)
    job = runner.view(executor, job_id).job
    run = runner.settings.workspace / "runs" / "long"
    assert job.result["run_status"] == "paused" and job.result["epochs_completed"] < 40
    assert (run / "checkpoints" / "last.pt").is_file() and not (run / "control.json").exists()
    with runner.sessions() as session:
        jobs.resume_job(session, executor, runner.user, job_id)
    assert wait_for(lambda: runner.view(executor, job_id).job.progress_phase == "train", 60)
    with runner.sessions() as session:
        jobs.stop_job(session, executor, runner.user, job_id)
    runner.wait_state(executor, job_id, "stopped", timeout=60)
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["type"] == "start"]
    assert [e["resumed"] for e in starts] == [False, True]  # the second attempt continued the same run


def test_the_api_shows_queue_positions_and_stops_pauses_and_resumes(app, client, settings):
    csrf = {"X-CSRF-Token": set_up_admin(client)}
    runner = Runner(settings)
    try:
        executor = runner.executor(training_jobs=1)
        # The routes take the executor from the app's state: this one runs the test's "sleep" kind.
        setattr(app.state, STATE_ATTRIBUTE, dataclasses.replace(getattr(app.state, STATE_ATTRIBUTE),
                                                                executor=executor))
        first = runner.submit(executor, steps=200, step_s=0.05)
        second = runner.submit(executor, steps=200, step_s=0.05)
        assert client.get(f"/api/v1/jobs/{second}").json()["queue_position"] == 1
        runner.wait_state(executor, first, "running")
        response = client.post(f"/api/v1/jobs/{first}/pause", headers=csrf)
        assert response.status_code == 200, response.text
        runner.wait_state(executor, first, "paused")
        runner.wait_state(executor, second, "running")  # the paused job's slot went to the next
        assert_problem(client.post(f"/api/v1/jobs/{first}/stop", headers=csrf), 409, "job_not_active")
        resumed = client.post(f"/api/v1/jobs/{first}/resume", headers=csrf).json()
        assert (resumed["state"], resumed["queue_position"]) == ("queued", 1)
        assert client.post(f"/api/v1/jobs/{first}/stop", headers=csrf).json()["state"] == "stopped"
        client.post(f"/api/v1/jobs/{second}/stop", headers=csrf)
        runner.wait_state(executor, second, "stopped")
        assert_problem(client.post("/api/v1/jobs/999/resume", headers=csrf), 404, "job_not_found")
    finally:
        runner.close()


def test_a_stop_sent_as_the_process_starts_still_ends_the_job_stopped(runner):
    executor = runner.executor()
    job_id = runner.submit(executor, steps=200, step_s=0.05)
    assert executor.cancel(job_id) == "requested"  # before its signal handler can exist
    runner.wait_state(executor, job_id, "stopped")


def test_a_restart_in_the_same_process_reattaches_its_own_children(runner):
    executor = runner.executor()
    job_id = runner.submit(executor, steps=20, step_s=0.05)
    runner.wait_state(executor, job_id, "running")
    executor.shutdown()  # the app's lifespan ends; the job process lives on
    with runner.sessions() as session:
        assert jobs.reconcile_jobs(session, executor, runner.settings.workspace, 60)["adopted"] == 1
    runner.wait_state(executor, job_id, "succeeded")
    assert wait_for(lambda: executor.status(job_id).state == "unknown", 10)  # reaped, its slot free again


def test_a_train_job_that_the_library_refuses_fails_with_its_reason_and_fix(runner, shared_datasets, tmp_path):
    data = csv_of_copies(shared_datasets / "cifar10-mini", ("airplane", "automobile"), 5, tmp_path, "few.csv")
    executor = runner.executor()
    job_id = runner.submit(executor, kind="train", run="few", preset="fast", options={"data": str(data)})
    runner.wait_state(executor, job_id, "failed", timeout=60)
    error = runner.view(executor, job_id).job.error
    assert "too_few_images" in error and "Add at least 15 more images" in error


def test_a_run_name_cannot_leave_the_workspace(runner):
    executor = runner.executor()
    job_id = runner.submit(executor, kind="train", run="../outside", options={})
    runner.wait_state(executor, job_id, "failed")
    assert "run='../outside'" in runner.view(executor, job_id).job.error
    assert not (runner.settings.workspace / "outside").exists()


def test_a_resumed_job_waits_for_its_previous_process_to_end(runner):
    executor = runner.executor(training_jobs=2)  # a free slot: only the old process holds the job back
    old = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        job_id = _running_row(runner, old.pid)
        executor.adopt(job_id, runner.view(executor, job_id).job.attempt, "sleep", old.pid)
        with runner.sessions() as session, writing(session):  # it recorded "paused" and is about to exit
            session.execute(update(Job).where(Job.id == job_id).values(state="paused"))
        with runner.sessions() as session:
            jobs.resume_job(session, executor, runner.user, job_id)
        assert executor.status(job_id).state == "queued"
    finally:
        old.kill()
        old.wait()
    runner.wait_state(executor, job_id, "succeeded")


def test_a_pause_reports_the_step_it_checkpointed_at_not_the_last_step_event(tmp_path):
    from classmill.server.jobs.entry import JobContext

    reported = []
    ctx = JobContext(job_id=1, attempt="a", kind="train", params={}, workspace=tmp_path, sessions=None)
    ctx.report = lambda phase, done, total, force=False: reported.append((phase, done, total, force))
    ctx.event({"type": "start", "epoch": 0, "step": 0, "epochs": 6, "steps_per_epoch": 4})
    ctx.event({"type": "step", "epoch": 0, "step": 1, "steps_per_epoch": 4, "loss": 1.0})
    ctx.event({"type": "status", "status": "paused", "epoch": 0, "step": 3})
    assert reported == [("train", 0, 24, True), ("train", 1, 24, False), ("train", 3, 24, True)]
    ctx.event({"type": "epoch", "epoch": 1, "epochs": 6})
    assert reported[-1] == ("train", 4, 24, True)


def test_a_pause_passed_on_after_the_engine_already_paused_leaves_no_control_file(tmp_path, monkeypatch):
    # The signal sets ctx.requested() at once, and a thread writes the control file: the engine can see
    # the first, pause and clear the file before the thread writes it (CI hit this once).
    import time

    from classmill.server.jobs import entry, train_job
    from classmill.server.jobs.entry import JobContext
    from classmill.train.control import CONTROL_FILE

    ctx = JobContext(job_id=1, attempt="a", kind="train", params={"run": "r"}, workspace=tmp_path, sessions=None)
    run = tmp_path / "runs" / "r"

    def slow_pass_on(folder, action):
        time.sleep(0.3)  # the engine has paused and cleared the file by now
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONTROL_FILE).write_text(json.dumps({"action": action}))

    def paused_at_once(workspace, params, callback, should_stop):
        ctx.ask("pause")
        assert should_stop() == "pause"
        return "paused", {"run_status": "paused"}

    monkeypatch.setattr(entry, "_ask_run", slow_pass_on)
    monkeypatch.setattr(train_job, "run_train", paused_at_once)
    assert entry._train(ctx) == ("paused", {"run_status": "paused"})
    time.sleep(0.5)
    assert run.is_dir() and not (run / CONTROL_FILE).exists()
