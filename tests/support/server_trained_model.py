"""A model version trained for real through a live server's API: two classes of cifar10-mini (one with a
Chinese name), 20 images each, 32 px, one epoch — a report, thresholds and predictions in about 10 s."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx

from support.images import SHARED_DATASETS
from support.live_server import stream_file
from support.server_imports import wait_for_job, zip_folder
from support.server_tasks import SETTLED, TINY_TASK_OPTIONS
from support.training import wait_for

# folder name in the dataset -> cifar10-mini class it copies
CLASSES = {"airplane": "airplane", "汽车": "automobile"}


@dataclass(frozen=True)
class TrainedModel:
    dataset_id: int
    project_id: int
    task_id: int
    model: dict  # the version as GET /api/v1/models/{id} answers


def train_tiny_model(api: httpx.Client, folder: Path, per_class: int = 20) -> TrainedModel:
    images = folder / "images"
    for name, source in CLASSES.items():
        (images / name).mkdir(parents=True)
        for image in sorted((SHARED_DATASETS / "cifar10-mini" / source).iterdir())[:per_class]:
            shutil.copy(image, images / name / image.name)
    dataset = api.post("/api/v1/datasets", json={"name": "车辆 vehicles"}).json()["id"]
    imported = stream_file(api, f"/api/v1/datasets/{dataset}/imports", zip_folder(images, folder / "images.zip"))
    assert wait_for_job(api.get, imported.json()["id"], seconds=120)["state"] == "succeeded"
    project = api.post("/api/v1/projects", json={"name": "车辆 vehicles", "dataset_id": dataset}).json()["id"]
    created = api.post(f"/api/v1/projects/{project}/tasks", json={
        "name": "tiny", "dataset_version": 1, "preset": "fast", "options": TINY_TASK_OPTIONS})
    assert created.status_code == 201, created.text
    task = wait_task(api, created.json()["id"])
    return TrainedModel(dataset, project, task["id"], task["model_versions"][-1])


def wait_task(api: httpx.Client, task_id: int, timeout: float = 300) -> dict:
    wait_for(lambda: api.get(f"/api/v1/tasks/{task_id}").json()["job"]["state"] in SETTLED, timeout)
    task = api.get(f"/api/v1/tasks/{task_id}").json()
    assert task["job"]["state"] == "succeeded", task["job"]["error"]
    return task
