"""Training tasks through the API: options checked before anything is written, a task trains in its own
process into a model version (report, bundle, thresholds), is extended, and is deleted.

SQLite and PostgreSQL (the `settings` fixture); tiny settings (noise images, 32 px, no pretrained
weights, one epoch) keep each training to seconds.
"""

from __future__ import annotations

import json

import pytest

from classmill.infer import read_bundle
from support.server_accounts import assert_problem
from support.server_world import make_world
from support.training import wait_for
from support.server_tasks import SETTLED, TINY_TASK_OPTIONS as TINY



@pytest.fixture
def world(client, new_client, app, settings):
    w = make_world(client, new_client, app, settings)
    yield w
    w.db.close()


def _project(world, per_class: dict[str, int], name="parts", split=None) -> tuple[int, int]:
    images = [(label, split, f"{label}/{i}.png") for label, n in per_class.items() for i in range(n)]
    dataset, version, _ = world.dataset("alice", name, images)
    created = world.alice.post("/api/v1/projects", json={"name": name, "dataset_id": dataset.id})
    assert created.status_code == 201, created.text
    return created.json()["id"], version.number


def _wait_task(client, task_id: int, timeout: float = 180) -> dict:
    wait_for(lambda: client.get(f"/api/v1/tasks/{task_id}").json()["job"]["state"] in SETTLED, timeout)
    return client.get(f"/api/v1/tasks/{task_id}").json()


def test_options_list_every_library_option_with_each_presets_value(world):
    body = world.alice.get("/api/v1/tasks/options").json()
    assert body["presets"] == ["fast", "balanced", "accurate"]
    by_name = {spec["name"]: spec for spec in body["options"]}
    assert by_name["model"]["preset_defaults"]["accurate"] == "efficientnet_lite2"
    # no preset fixes the input size: each run chooses it from its training images (train/data_choices.py)
    assert by_name["image_size"]["preset_defaults"] == {"fast": None, "balanced": None, "accurate": None}
    assert "data" not in by_name and "data_root" not in by_name  # the server sets those
    assert body["min_images_per_class"] == 20


@pytest.mark.parametrize("body, field", [
    ({"options": {"image_size": -3}}, "image_size"),
    ({"options": {"lr": 0}}, "lr"),
    ({"options": {"optimizer": "adam"}}, "optimizer"),
    ({"options": {"learning_rate": 0.1}}, "learning_rate"),
    ({"options": {"data": "/etc"}}, "data"),
    ({"select_metric": "auc"}, "select_metric"),
    ({"preset": "fastest"}, "preset"),
])
def test_an_invalid_option_is_refused_naming_the_field_and_nothing_is_written(world, settings, body, field):
    project, version = _project(world, {"a": 20, "b": 20})
    response = world.alice.post(f"/api/v1/projects/{project}/tasks",
                                json={"name": "t", "dataset_version": version, **body})
    problem = assert_problem(response, 422)
    assert field in problem["detail"]
    assert world.alice.get(f"/api/v1/projects/{project}/tasks").json()["total"] == 0
    assert not list(settings.workspace.glob("task-data/*.csv"))


def test_classes_are_checked_as_the_seed_platforms_do(world):
    project, version = _project(world, {"a": 25, "b": 20, "c": 5})
    url = f"/api/v1/projects/{project}/tasks"
    problem = assert_problem(world.alice.post(url, json={"name": "t", "dataset_version": version}), 422,
                             "too_few_images")
    assert "'c' has 5" in problem["detail"]
    assert_problem(world.alice.post(url, json={"name": "t", "dataset_version": version, "classes": ["a"]}), 422,
                   "too_few_classes")
    assert_problem(world.alice.post(url, json={"name": "t", "dataset_version": version, "classes": ["a", "zz"]}),
                   422, "unknown_class")
    assert_problem(world.alice.post(url, json={"name": "t", "dataset_version": 9}), 404, "version_not_found")
    # someone else's project does not exist for bob
    assert_problem(world.bob.post(url, json={"name": "t", "dataset_version": version}), 404, "project_not_found")


def test_a_task_trains_into_a_model_version_with_report_bundle_and_thresholds(world, settings, tmp_path):
    project, version = _project(world, {"a": 20, "b": 22, "c": 3})
    created = world.alice.post(f"/api/v1/projects/{project}/tasks", json={
        "name": "first", "dataset_version": version, "preset": "fast", "classes": ["a", "b"], "options": TINY,
        "select_metric": "f1"})
    assert created.status_code == 201, created.text
    task = _wait_task(world.alice, created.json()["id"])
    assert task["job"]["state"] == "succeeded", task["job"]["error"]
    assert task["config"]["select_metric"] == "f1" and task["config"]["image_size"] == 32
    [model] = task["model_versions"]
    assert model["number"] == 1 and model["classes"] == ["a", "b"] and model["epochs"] == 1
    assert model["metrics"]["val"]["n_images"] > 0 and 0 <= model["metrics"]["val"]["accuracy"] <= 1
    assert model["thresholds"] == model["suggested_thresholds"] and set(model["thresholds"]) == {"a", "b"}
    assert task["job"]["result"]["model_version_id"] == model["id"]

    report = world.alice.get(f"/api/v1/models/{model['id']}/report").json()
    assert report["class_names"] == ["a", "b"] and set(report["suggested_thresholds"]) == {"a", "b"}
    for name, kind in [("model.cmb", "application/zip"), ("report/val/report.html", "text/html"),
                       ("report/val/report.pdf", "application/pdf"), ("report/val/figures/confusion_matrix.png",
                                                                      "image/png")]:
        got = world.alice.get(f"/api/v1/models/{model['id']}/files/{name}")
        assert got.status_code == 200 and got.headers["content-type"].startswith(kind), (name, got.text[:200])
    # Calibrated: the run's temperature is in the bundle the version serves and behind its report's probabilities.
    fitted = json.loads((settings.workspace / "runs" / f"task-{task['id']}" / "calibration.json").read_text())
    assert report["calibration"]["temperature"]["value"] == fitted["temperature"]
    (tmp_path / "model.cmb").write_bytes(world.alice.get(f"/api/v1/models/{model['id']}/files/model.cmb").content)
    assert read_bundle(tmp_path / "model.cmb").calibration == fitted
    assert_problem(world.alice.get(f"/api/v1/models/{model['id']}/files/%2E%2E/%2E%2E/classmill.db"), 404)
    assert_problem(world.alice.get(f"/api/v1/models/{model['id']}/files/report/val/predictions.json"), 404)
    assert_problem(world.bob.get(f"/api/v1/models/{model['id']}"), 404, "model_not_found")

    changed = world.alice.put(f"/api/v1/models/{model['id']}/thresholds", json={"thresholds": {"a": 0.8}})
    assert changed.json()["thresholds"]["a"] == 0.8 and changed.json()["suggested_thresholds"] == \
        model["suggested_thresholds"]
    assert_problem(world.alice.put(f"/api/v1/models/{model['id']}/thresholds", json={"thresholds": {"a": 1.5}}),
                   422, "invalid_threshold")
    assert_problem(world.alice.put(f"/api/v1/models/{model['id']}/thresholds", json={"thresholds": {"c": 0.5}}),
                   422, "unknown_class")

    # extend: one more epoch -> version 2 continuing version 1
    extended = world.alice.post(f"/api/v1/tasks/{task['id']}/extend", json={"epochs": 1})
    assert extended.status_code == 200, extended.text
    task = _wait_task(world.alice, task["id"])
    assert task["job"]["state"] == "succeeded", task["job"]["error"]
    first, second = task["model_versions"]
    assert (second["number"], second["epochs"], second["parent_id"]) == (2, 2, first["id"])

    # deleting the task frees its run folder; its model versions stay
    run = settings.workspace / "runs" / f"task-{task['id']}"
    assert run.is_dir()
    assert world.alice.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    assert not run.exists()
    kept = world.alice.get(f"/api/v1/models/{second['id']}").json()
    assert kept["task_id"] is None and kept["task_name"] == "first"
    folder = settings.workspace / "models"
    before = set(folder.iterdir())
    assert world.alice.delete(f"/api/v1/models/{second['id']}").status_code == 204
    assert len(set(folder.iterdir())) == len(before) - 1
    assert world.alice.get(f"/api/v1/models/{first['id']}").status_code == 200  # the other version is untouched


def test_a_project_with_tasks_is_not_deleted_under_them(world):
    project, version = _project(world, {"a": 20, "b": 20})
    created = world.alice.post(f"/api/v1/projects/{project}/tasks", json={
        "name": "t", "dataset_version": version, "preset": "fast", "options": {**TINY, "epochs": 0}})
    task_id = created.json()["id"]
    _wait_task(world.alice, task_id)
    assert_problem(world.alice.delete(f"/api/v1/projects/{project}"), 409, "project_not_empty")
    [model] = world.alice.get(f"/api/v1/tasks/{task_id}").json()["model_versions"]
    assert world.alice.delete(f"/api/v1/tasks/{task_id}").status_code == 204
    assert_problem(world.alice.delete(f"/api/v1/projects/{project}"), 409, "project_not_empty")
    assert world.alice.delete(f"/api/v1/models/{model['id']}").status_code == 204
    assert world.alice.delete(f"/api/v1/projects/{project}").status_code == 204


def test_disk_use_and_the_start_up_sweep_of_files_no_row_names(world, settings):
    from classmill.server.services.housekeeping import remove_orphan_files

    project, version = _project(world, {"a": 20, "b": 20})
    task_id = world.alice.post(f"/api/v1/projects/{project}/tasks", json={
        "name": "t", "dataset_version": version, "preset": "fast", "options": {**TINY, "epochs": 0}}).json()["id"]
    task = _wait_task(world.alice, task_id)
    [model] = task["model_versions"]
    usage = world.alice.get("/api/v1/usage").json()
    [dataset] = usage["datasets"]
    assert dataset["files"] == 40 and dataset["bytes"] > 0
    assert usage["model_versions"] == [{"id": model["id"], "project_id": project, "number": 1,
                                        "bytes": model["size_bytes"]}] and model["size_bytes"] > 0
    assert usage["task_runs"][0]["task_id"] == task_id and usage["task_runs"][0]["bytes"] > 0
    assert "workspace" not in usage  # folder totals are for admins
    assert world.bob.get("/api/v1/usage").json() == {"datasets": [], "model_versions": [], "task_runs": []}

    ws = settings.workspace
    orphans = [ws / "models" / "job-999-0123456789ab", ws / "runs" / "task-999", ws / "task-data" / "gone.csv"]
    for path in orphans:
        (path.mkdir(parents=True) if not path.suffix else path.write_text("x"))
    kept = [ws / "runs" / f"task-{task_id}", next(p for p in (ws / "models").iterdir() if p.name != orphans[0].name),
            next(p for p in (ws / "task-data").iterdir() if p.name != "gone.csv")]
    assert remove_orphan_files(world.db, ws) == {"model_folders": 1, "task_data": 1, "runs": 1}
    assert not any(p.exists() for p in orphans) and all(p.exists() for p in kept)
    assert world.alice.get(f"/api/v1/models/{model['id']}/files/model.cmb").status_code == 200


def test_tasks_queue_for_the_one_training_slot_and_a_paused_task_frees_it(world):
    project, version = _project(world, {"a": 20, "b": 20})
    url = f"/api/v1/projects/{project}/tasks"
    long = {**TINY, "epochs": 200, "head_warmup_steps": 0}
    first = world.alice.post(url, json={"name": "long", "dataset_version": version, "options": long}).json()
    second = world.alice.post(url, json={"name": "next", "dataset_version": version, "options": long}).json()
    assert (second["job"]["state"], second["job"]["queue_position"]) == ("queued", 1)

    def state(task_id):
        return world.alice.get(f"/api/v1/tasks/{task_id}").json()["job"]

    assert wait_for(lambda: state(first["id"])["progress_phase"] == "train", 60)
    assert state(second["id"])["state"] == "queued"
    assert world.alice.post(f"/api/v1/tasks/{first['id']}/pause").status_code == 200
    assert wait_for(lambda: state(first["id"])["state"] == "paused", 60)
    assert wait_for(lambda: state(second["id"])["state"] == "running", 60)  # the slot went to the next task
    resumed = world.alice.post(f"/api/v1/tasks/{first['id']}/resume").json()["job"]
    assert (resumed["state"], resumed["queue_position"]) == ("queued", 1)
    assert_problem(world.bob.post(f"/api/v1/tasks/{first['id']}/stop"), 404, "task_not_found")
    assert world.alice.post(f"/api/v1/tasks/{second['id']}/stop").status_code == 200
    assert wait_for(lambda: state(second["id"])["state"] == "stopped", 60)
    assert wait_for(lambda: state(first["id"])["state"] == "running", 60)
    assert world.alice.post(f"/api/v1/tasks/{first['id']}/stop").status_code == 200
    assert wait_for(lambda: state(first["id"])["state"] == "stopped", 60)
    assert_problem(world.alice.post(f"/api/v1/tasks/{first['id']}/extend", json={"epochs": 2}), 409,
                   "task_not_finished")


def test_a_deletion_during_a_backup_leaves_its_files_to_the_next_sweep(world, settings):
    from classmill.server.services.housekeeping import remove_orphan_files
    from classmill.server.store.collection_lock import collection_paused

    project, version = _project(world, {"a": 20, "b": 20})
    task_id = world.alice.post(f"/api/v1/projects/{project}/tasks", json={
        "name": "t", "dataset_version": version, "preset": "fast", "options": {**TINY, "epochs": 0}}).json()["id"]
    [model] = _wait_task(world.alice, task_id)["model_versions"]
    folders = list((settings.workspace / "models").iterdir())
    with collection_paused(world.store.root):  # a backup is copying
        assert world.alice.delete(f"/api/v1/models/{model['id']}").status_code == 204
        assert world.alice.delete(f"/api/v1/tasks/{task_id}").status_code == 204
        assert all(folder.exists() for folder in folders) and (settings.workspace / "runs" / f"task-{task_id}").exists()
        assert remove_orphan_files(world.db, settings.workspace) == {"model_folders": 0, "task_data": 0, "runs": 0}
    assert remove_orphan_files(world.db, settings.workspace) == {"model_folders": 1, "task_data": 1, "runs": 1}
    assert not any(folder.exists() for folder in folders)


def test_the_sdk_download_carries_the_versions_thresholds(world, settings, tmp_path):
    import io
    import zipfile

    from classmill.infer.bundle import read_bundle

    project, version = _project(world, {"a": 20, "b": 20})
    task_id = world.alice.post(f"/api/v1/projects/{project}/tasks", json={
        "name": "t", "dataset_version": version, "preset": "fast", "options": {**TINY, "epochs": 0}}).json()["id"]
    [model] = _wait_task(world.alice, task_id)["model_versions"]
    world.alice.put(f"/api/v1/models/{model['id']}/thresholds", json={"thresholds": {"a": 0.7, "b": 0.25}})
    got = world.alice.get(f"/api/v1/models/{model['id']}/sdk")
    assert got.status_code == 200, got.text
    assert 'filename="project-' in got.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(got.content))
    names = archive.namelist()
    top = f"project-{project}-model-v1-sdk"
    assert f"{top}/README.md" in names and any(n.endswith(".whl") for n in names)
    bundle = tmp_path / "model.cmb"
    bundle.write_bytes(archive.read(f"{top}/bundle/model.cmb"))
    assert read_bundle(bundle).thresholds == {"a": 0.7, "b": 0.25}
    assert not list(world.store.scratch.glob("*")), "the temp SDK zip is deleted once sent"
    assert_problem(world.bob.get(f"/api/v1/models/{model['id']}/sdk"), 404, "model_not_found")


def test_a_shared_projects_reader_sees_the_images_behind_its_model_versions(world):
    project, version = _project(world, {"a": 20, "b": 20})
    hashes = [row["hash"] for row in world.alice.get(
        f"/api/v1/datasets/{world.alice.get(f'/api/v1/projects/{project}').json()['dataset_id']}/versions/1/images",
        params={"limit": 2}).json()["items"]]
    assert_problem(world.bob.get(f"/api/v1/images/{hashes[0]}/thumbnail"), 404, "image_not_found")
    shared = world.alice.post(f"/api/v1/projects/{project}/shares", json={"username": "bob", "permission": "read"})
    assert shared.status_code == 201, shared.text
    assert world.bob.get(f"/api/v1/images/{hashes[0]}/thumbnail").status_code == 200
