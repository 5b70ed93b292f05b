"""A task through the real server when the machine or the server dies mid-training.

- Power loss (kill -9 of the server and of the training process): after a restart the task reads
  `interrupted` with a checkpoint; resume completes it, and the model version's metrics match an
  uninterrupted task's (the library's crash-test tolerance).
- Only the server killed: the training process lives on, the restarted server re-attaches it, and
  the task finishes into a model version — never `running` forever.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import pytest

from support.images import SHARED_DATASETS
from support.live_server import LiveServer, stream_file
from support.server_imports import wait_for_job, zip_folder
from support.training import wait_for
from support.server_tasks import SETTLED

pytestmark = pytest.mark.slow
OPTIONS = {"epochs": 4, "image_size": 32, "batch_size": 4, "workers": 1, "warmup_epochs": 0.0,
           "pretrained": False, "head_warmup_steps": 0}


@pytest.fixture
def server(settings, tmp_path):
    live = LiveServer(tmp_path / "ws", settings.resolved_database_url).start()
    yield live
    live.stop()
    _kill_jobs(live)


def _kill_jobs(live: LiveServer) -> None:
    subprocess.run(["pkill", "-9", "-f", f"classmill.server.jobs.entry .*--workspace {live.workspace}"], check=False)


def _project(api, tmp_path) -> tuple[int, int]:
    folder = tmp_path / "pair"
    for label in ("airplane", "automobile"):
        (folder / label).mkdir(parents=True)
        for image in sorted((SHARED_DATASETS / "cifar10-mini" / label).iterdir())[:25]:
            shutil.copy(image, folder / label / image.name)
    dataset = api.post("/api/v1/datasets", json={"name": "pair"}).json()["id"]
    imported = stream_file(api, f"/api/v1/datasets/{dataset}/imports", zip_folder(folder, tmp_path / "pair.zip"))
    assert wait_for_job(api.get, imported.json()["id"], seconds=120)["state"] == "succeeded"
    project = api.post("/api/v1/projects", json={"name": "pair", "dataset_id": dataset}).json()["id"]
    return project, 1


def _task(api, project: int, version: int, name: str) -> int:
    created = api.post(f"/api/v1/projects/{project}/tasks", json={
        "name": name, "dataset_version": version, "preset": "balanced", "options": OPTIONS})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _settled(api, task_id: int, timeout: float = 300) -> dict:
    wait_for(lambda: api.get(f"/api/v1/tasks/{task_id}").json()["job"]["state"] in SETTLED, timeout)
    return api.get(f"/api/v1/tasks/{task_id}").json()


def _events(live: LiveServer, task_id: int) -> list[dict]:
    path = live.workspace / "runs" / f"task-{task_id}" / "events.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def _job_pid(live: LiveServer, task_id: int) -> int:
    found = subprocess.run(["pgrep", "-f", f"classmill.server.jobs.entry .*--workspace {live.workspace}"],
                           capture_output=True, text=True).stdout.split()
    assert len(found) == 1, found
    return int(found[0])


def test_power_loss_mid_training_then_resume_matches_an_uninterrupted_task(server, tmp_path):
    with server.admin_client() as api:
        project, version = _project(api, tmp_path)
        reference = _settled(api, _task(api, project, version, "reference"))
        assert reference["job"]["state"] == "succeeded", reference["job"]["error"]
        task_id = _task(api, project, version, "crashed")
        assert wait_for(lambda: any(e["type"] == "epoch" and e["epoch"] >= 2 for e in _events(server, task_id)), 240)
        job_pid = _job_pid(server, task_id)
    server.kill9()  # the machine loses power: the server and the training die together
    os.kill(job_pid, signal.SIGKILL)
    server.start()
    with server.admin_client() as api:
        task = api.get(f"/api/v1/tasks/{task_id}").json()
        assert task["job"]["state"] == "interrupted", task["job"]
        assert task["job"]["result"]["resumable"] is True and "last checkpoint" in task["job"]["error"]
        assert task["model_versions"] == []
        assert api.post(f"/api/v1/tasks/{task_id}/resume").status_code == 200
        task = _settled(api, task_id)
    assert task["job"]["state"] == "succeeded", task["job"]["error"]
    [expected], [got] = reference["model_versions"], task["model_versions"]
    assert got["epochs"] == expected["epochs"] == 4
    for key in ("accuracy", "macro_f1"):
        assert abs(got["metrics"]["val"][key] - expected["metrics"]["val"][key]) < 1e-4, key
    assert abs(got["metrics"]["best_metric"] - expected["metrics"]["best_metric"]) < 1e-4


def test_a_killed_server_re_attaches_the_training_that_outlived_it(server, tmp_path):
    with server.admin_client() as api:
        project, version = _project(api, tmp_path)
        task_id = _task(api, project, version, "survivor")
        assert wait_for(lambda: any(e["type"] == "epoch" for e in _events(server, task_id)), 240)
    server.kill9()
    server.start()
    with server.admin_client() as api:
        assert api.get(f"/api/v1/tasks/{task_id}").json()["job"]["state"] == "running"
        task = _settled(api, task_id)
    assert task["job"]["state"] == "succeeded", task["job"]["error"]
    assert len(task["model_versions"]) == 1


def test_a_trainings_events_stream_live_and_a_reconnect_resumes_after_the_last_event_id(server, tmp_path):
    from classmill.server.api.sse import read_messages

    with server.admin_client() as api:
        project, version = _project(api, tmp_path)
        task_id = _task(api, project, version, "watched")
        job_id = api.get(f"/api/v1/tasks/{task_id}").json()["job"]["id"]
        first: list = []
        with api.stream("GET", f"/api/v1/jobs/{job_id}/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for message in read_messages(response.iter_lines()):
                first.append(message)
                if message.event == "epoch":
                    break  # hang up while it trains
        assert api.get(f"/api/v1/tasks/{task_id}").json()["job"]["state"] == "running"  # the events came live
        last = max(int(m.id) for m in first if m.id is not None)
        rest = []
        with api.stream("GET", f"/api/v1/jobs/{job_id}/events", headers={"Last-Event-ID": str(last)}) as response:
            for message in read_messages(response.iter_lines()):
                rest.append(message)
                if message.event == "end":
                    break
    ids = [int(m.id) for m in rest if m.id is not None]
    assert ids == list(range(last + 1, last + 1 + len(ids))) and ids  # no repeat, no gap
    assert [m.event for m in rest if m.id is not None].count("epoch") == OPTIONS["epochs"] - 1
    assert json.loads(rest[-1].data)["state"] == "succeeded"
