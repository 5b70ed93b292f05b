"""Behind a model version's report, through the API: threshold what-ifs, confusion-cell and mistake images,
comparisons and INT8 on request.

SQLite and PostgreSQL (the `settings` fixture). Most tests use versions made by hand (a predictions.json
over real stored images, so every number is known); one trains a tiny task (32 px, one epoch) to
check the routes against a real report and to export INT8 end to end.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from classmill.errors import UserError
from classmill.server.db.jobs import Job
from classmill.server.db.session import writing
from classmill.server.jobs.int8_job import INT8_KIND
from classmill.server.services import model_int8
from classmill.server.services.jobs import submit_job
from classmill.server.state import STATE_ATTRIBUTE
from support.model_versions import make_model_version
from support.server_accounts import assert_problem
from support.server_datasets import user_named
from support.server_world import make_world
from support.training import wait_for
from support.server_tasks import SETTLED, TINY_TASK_OPTIONS as TINY

CLASSES = ["cat", "dog", "fox"]
LABELS = ["cat", "cat", "cat", "dog", "dog", "dog", "fox"]
PROBS_A = [  # top-1, right or wrong
    [0.9, 0.05, 0.05],  # cat 0.9 right
    [0.6, 0.3, 0.1],  # cat 0.6 right
    [0.2, 0.7, 0.1],  # dog 0.7 wrong
    [0.1, 0.8, 0.1],  # dog 0.8 right
    [0.55, 0.4, 0.05],  # cat 0.55 wrong
    [0.3, 0.4, 0.3],  # dog 0.4 right
    [0.1, 0.1, 0.8],  # fox 0.8 right
]
PROBS_B = [
    [0.9, 0.05, 0.05],  # unchanged
    [0.6, 0.3, 0.1],  # unchanged
    [0.8, 0.1, 0.1],  # fixed
    [0.6, 0.3, 0.1],  # broken (cat 0.6)
    [0.1, 0.85, 0.05],  # fixed
    [0.5, 0.45, 0.05],  # broken (cat 0.5)
    [0.1, 0.7, 0.2],  # broken (dog 0.7)
]
DEPLOYED = {"cat": 0.58, "dog": 0.5, "fox": 0.9}
SUGGESTED = {"cat": 0.61, "dog": 0.0, "fox": 0.0}


@pytest.fixture
def world(client, new_client, app, settings):
    w = make_world(client, new_client, app, settings)
    yield w
    w.db.close()


def _project(world, dataset_id: int, name: str) -> int:
    created = world.alice.post("/api/v1/projects", json={"name": name, "dataset_id": dataset_id})
    assert created.status_code == 201, created.text
    return created.json()["id"]


@pytest.fixture
def hand_made(world, settings):
    """Alice's dataset of 7 val images, two projects on it, and a version by hand in each (a, then b)."""
    images = [(label, "val", f"{label}/{i}.png") for i, label in enumerate(LABELS)]
    dataset, dataset_version, hashes = world.dataset("alice", "pets", images)
    versions = []
    for name, probs, config in [("first", PROBS_A, {"epochs": 5, "lr": 0.01}),
                                ("second", PROBS_B, {"epochs": 9, "lr": 0.01})]:
        project = _project(world, dataset.id, name)
        accuracy = sum(p.index(max(p)) == CLASSES.index(label) for p, label in zip(probs, LABELS)) / len(LABELS)
        versions.append(make_model_version(
            world.db, settings.workspace, project, dataset_version.id, CLASSES, list(zip(hashes, LABELS, probs)),
            thresholds=DEPLOYED, suggested=SUGGESTED, config=config,
            metrics={"val": {"accuracy": accuracy, "per_class": {}, "n_images": 7}}))
    return {"hashes": hashes, "a": versions[0], "b": versions[1], "dataset": dataset}


def _by_name(preview: dict) -> dict:
    return {row["name"]: row for row in preview["classes"]}


def test_threshold_preview_moves_one_class_and_keeps_the_others_deployed(world, hand_made):
    version = hand_made["a"].id
    url = f"/api/v1/models/{version}/thresholds/preview"
    got = world.alice.get(url, params={"class": "cat", "threshold": 0.61})
    assert got.status_code == 200, got.text
    body = got.json()
    cat, dog, fox = (_by_name(body)[name] for name in CLASSES)
    assert (cat["threshold"], cat["answered"], cat["uncertain"], cat["precision"]) == (0.61, 1, 2, 1.0)
    assert cat["recall"] == pytest.approx(1 / 3) and cat["coverage"] == pytest.approx(1 / 3)
    assert (dog["threshold"], dog["answered"], dog["correct"], dog["precision"]) == (0.5, 2, 1, 0.5)  # deployed
    assert (fox["answered"], fox["uncertain"], fox["precision"]) == (0, 1, None)
    assert body["overall"] == {"n_images": 7, "answered": 3, "uncertain": 4, "coverage": pytest.approx(3 / 7),
                               "accuracy": pytest.approx(2 / 3)}
    assert cat["suggested"]["threshold"] == 0.61 and cat["suggested"]["answered"] == 1
    assert dog["suggested"]["answered"] == 3  # its suggested threshold is 0: every top-1 dog answer

    many = world.alice.post(url, json={"thresholds": {"fox": 0.5, "dog": 0.75}})
    assert many.status_code == 200, many.text
    rows = _by_name(many.json())
    assert (rows["fox"]["answered"], rows["dog"]["answered"], rows["cat"]["answered"]) == (1, 1, 2)
    # a preview changes nothing
    assert world.alice.get(f"/api/v1/models/{version}").json()["thresholds"] == DEPLOYED

    assert_problem(world.alice.get(url, params={"class": "owl", "threshold": 0.5}), 422, "unknown_class")
    for hostile in (1.5, "nan", "inf", "x"):
        assert_problem(world.alice.get(url, params={"class": "cat", "threshold": hostile}), 422)
    assert_problem(world.alice.get(url, params={"class": "c" * 5000, "threshold": 0.5}), 422)
    assert_problem(world.alice.post(url, json={"thresholds": {"cat": -0.1}}), 422, "invalid_threshold")
    assert_problem(world.alice.get(url, params={"class": "cat", "threshold": 0.5, "split": "test"}), 404,
                   "split_not_evaluated")
    assert_problem(world.bob.get(url, params={"class": "cat", "threshold": 0.5}), 404, "model_not_found")
    assert_problem(world.bob.post(url, json={"thresholds": {}}), 404, "model_not_found")


def test_confusion_cells_and_mistakes_list_their_images_most_confident_first(world, hand_made):
    version, hashes = hand_made["a"].id, hand_made["hashes"]
    url = f"/api/v1/models/{version}"
    cell = world.alice.get(f"{url}/confusion", params={"true": "cat", "predicted": "dog"}).json()
    assert cell["total"] == 1
    [image] = cell["items"]
    assert (image["hash"], image["original_name"], image["label"], image["predicted"]) == \
        (hashes[2], "cat/2.png", "cat", "dog")
    assert image["confidence"] == pytest.approx(0.7) and image["label_probability"] == pytest.approx(0.2)
    assert world.alice.get(image["thumbnail_url"]).headers["content-type"] == "image/jpeg"
    assert world.alice.get(image["image_url"]).status_code == 200

    right = world.alice.get(f"{url}/confusion", params={"true": "cat", "predicted": "cat"}).json()
    assert right["total"] == 2 and [i["hash"] for i in right["items"]] == [hashes[0], hashes[1]]
    second = world.alice.get(f"{url}/confusion", params={"true": "cat", "predicted": "cat", "limit": 1, "offset": 1})
    assert [i["hash"] for i in second.json()["items"]] == [hashes[1]] and second.json()["total"] == 2

    wrong = world.alice.get(f"{url}/misclassified").json()
    assert wrong["total"] == 2 and [i["hash"] for i in wrong["items"]] == [hashes[2], hashes[4]]  # 0.7, then 0.55
    of_dog = world.alice.get(f"{url}/misclassified", params={"class": "dog"}).json()
    assert [(i["hash"], i["predicted"]) for i in of_dog["items"]] == [(hashes[4], "cat")]
    assert world.alice.get(f"{url}/misclassified", params={"class": "fox"}).json()["total"] == 0

    assert_problem(world.alice.get(f"{url}/confusion", params={"true": "cat", "predicted": "owl"}), 422,
                   "unknown_class")
    assert_problem(world.alice.get(f"{url}/misclassified", params={"class": "owl"}), 422, "unknown_class")
    assert_problem(world.alice.get(f"{url}/misclassified", params={"split": "train"}), 422)
    assert_problem(world.bob.get(f"{url}/confusion", params={"true": "cat", "predicted": "dog"}), 404,
                   "model_not_found")
    assert_problem(world.bob.get(f"{url}/misclassified"), 404, "model_not_found")


def test_compare_two_versions_of_two_projects(world, hand_made):
    a, b, hashes = hand_made["a"], hand_made["b"], hand_made["hashes"]
    got = world.alice.get("/api/v1/models/compare", params={"a": a.id, "b": b.id})
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["a"]["id"], body["b"]["id"]) == (a.id, b.id) and body["a"]["project_id"] != body["b"]["project_id"]
    assert body["a"]["dataset_id"] == hand_made["dataset"].id and body["a"]["dataset_version"] == 1
    assert body["metrics"]["overall"]["accuracy"] == {"a": pytest.approx(5 / 7), "b": pytest.approx(4 / 7),
                                                      "delta": pytest.approx(-1 / 7)}
    assert body["metrics"]["shared_classes"] == CLASSES and body["metrics"]["note"] is None
    assert body["config_differences"] == {"epochs": {"a": 5, "b": 9}}
    images = body["images"]
    assert (images["shared"], images["only_a"], images["only_b"]) == (7, 0, 0)
    assert images["counts"] == {"fixed": 2, "broken": 3, "changed": 0, "unchanged": 2}
    assert [i["hash"] for i in images["fixed"]] == [hashes[2], hashes[4]]  # a's mistakes at 0.7, then 0.55
    assert [i["hash"] for i in images["broken"]] == [hashes[6], hashes[3], hashes[5]]  # b's at 0.7, 0.6, 0.5
    broken = images["broken"][0]
    assert (broken["label_a"], broken["predicted_a"], broken["predicted_b"], broken["original_name"]) == \
        ("fox", "fox", "dog", "fox/6.png")
    assert world.alice.get(broken["thumbnail_url"]).status_code == 200

    capped = world.alice.get("/api/v1/models/compare", params={"a": a.id, "b": b.id, "limit": 1}).json()
    assert len(capped["images"]["fixed"]) == 1 and capped["images"]["counts"]["fixed"] == 2
    assert_problem(world.alice.get("/api/v1/models/compare", params={"a": a.id, "b": 999_999}), 404, "model_not_found")
    assert_problem(world.alice.get("/api/v1/models/compare", params={"a": a.id}), 422)

    # bob reads only the first project: he may compare within it, not with the version he cannot see
    assert_problem(world.bob.get("/api/v1/models/compare", params={"a": a.id, "b": b.id}), 404, "model_not_found")
    shared = world.alice.post(f"/api/v1/projects/{a.project_id}/shares", json={"username": "bob", "permission": "read"})
    assert shared.status_code == 201, shared.text
    assert_problem(world.bob.get("/api/v1/models/compare", params={"a": a.id, "b": b.id}), 404, "model_not_found")
    same = world.bob.get("/api/v1/models/compare", params={"a": a.id, "b": a.id})
    assert same.status_code == 200 and same.json()["images"]["counts"]["unchanged"] == 7
    # reading is not changing: INT8 needs write access
    assert_problem(world.bob.post(f"/api/v1/models/{a.id}/int8"), 403, "read_only_share")


def test_int8_of_a_version_whose_run_is_gone_is_refused_with_the_fix(world, hand_made):
    problem = assert_problem(world.alice.post(f"/api/v1/models/{hand_made['a'].id}/int8"), 409, "run_gone")
    assert "new task" in problem["fix"]
    assert world.alice.get(f"/api/v1/models/{hand_made['a'].id}").json()["int8"] is None
    assert_problem(world.bob.post(f"/api/v1/models/{hand_made['a'].id}/int8"), 404, "model_not_found")


def test_only_the_current_attempt_of_an_int8_job_publishes_its_bundle(world, settings, hand_made):
    version = hand_made["a"]
    with writing(world.db):
        job = Job(kind=INT8_KIND, attempt="current", owner_id=user_named(world.db, "alice").id, state="running",
                  params={"model_version_id": version.id})
        world.db.add(job)
    folder = settings.workspace / version.folder
    written = folder / ".model-int8.cmb.tmp"
    written.write_bytes(b"bundle")
    record = {"job_id": job.id, "state": "succeeded"}
    size_before = version.size_bytes

    assert not model_int8.commit_int8(world.db, job.id, "replaced", version.id, written, record, settings.workspace)
    assert written.exists() and not (folder / "model-int8.cmb").exists()
    assert not model_int8.record_int8(world.db, job.id, "replaced", version.id, {"state": "failed"})
    assert world.alice.get(f"/api/v1/models/{version.id}").json()["int8"] is None

    assert model_int8.commit_int8(world.db, job.id, "current", version.id, written, record, settings.workspace)
    assert not written.exists() and (folder / "model-int8.cmb").read_bytes() == b"bundle"
    after = world.alice.get(f"/api/v1/models/{version.id}").json()
    assert after["int8"] == record and after["size_bytes"] == size_before + len(b"bundle")
    assert world.alice.get(f"/api/v1/models/{version.id}/files/model-int8.cmb").content == b"bundle"
    assert world.alice.post(f"/api/v1/models/{version.id}/int8").status_code == 200  # there: no job, no run needed

    assert world.alice.delete(f"/api/v1/models/{version.id}").status_code == 204
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_bytes(b"late")
    with pytest.raises(UserError, match="was deleted"):
        model_int8.commit_int8(world.db, job.id, "current", version.id, written, record, settings.workspace)


def test_an_int8_job_that_cannot_export_records_why_on_the_version(world, app, hand_made):
    version = hand_made["a"]
    executor = getattr(app.state, STATE_ATTRIBUTE).executor
    job = submit_job(world.db, executor, user_named(world.db, "alice"), INT8_KIND,
                     {"model_version_id": version.id, "run": "task-404"})
    ended = _wait(world.alice, f"/api/v1/jobs/{job.id}", timeout=120)
    assert ended["state"] == "failed" and "no such run folder" in ended["error"]
    record = world.alice.get(f"/api/v1/models/{version.id}").json()["int8"]
    assert record["job_id"] == job.id and record["state"] == "failed" and "no such run folder" in record["error"]


# ---- a trained version: the routes against its real report, and INT8 end to end ----

def _wait(client, url: str, timeout: float = 240) -> dict:
    wait_for(lambda: client.get(url).json()["job"]["state"] in SETTLED if "/tasks/" in url
             else client.get(url).json()["state"] in SETTLED, timeout)
    return client.get(url).json()


def _trained_version(world) -> tuple[dict, dict]:
    images = [(label, None, f"{label}/{i}.png") for label, n in {"a": 20, "b": 22}.items() for i in range(n)]
    dataset, dataset_version, _ = world.dataset("alice", "parts", images)
    project = _project(world, dataset.id, "parts")
    created = world.alice.post(f"/api/v1/projects/{project}/tasks", json={
        "name": "tiny", "dataset_version": dataset_version.number, "preset": "fast", "options": TINY})
    assert created.status_code == 201, created.text
    task = _wait(world.alice, f"/api/v1/tasks/{created.json()['id']}")
    assert task["job"]["state"] == "succeeded", task["job"]["error"]
    return task, task["model_versions"][0]


def _check_routes_against_the_report(world, model: dict) -> None:
    url = f"/api/v1/models/{model['id']}"
    report = world.alice.get(f"{url}/report").json()
    names, counts = report["confusion_matrix"]["labels"], report["confusion_matrix"]["counts"]
    for i, true in enumerate(names):
        for j, predicted in enumerate(names):
            cell = world.alice.get(f"{url}/confusion", params={"true": true, "predicted": predicted}).json()
            assert cell["total"] == counts[i][j], (true, predicted)
    wrong = world.alice.get(f"{url}/misclassified").json()
    assert wrong["total"] == report["n_images"] - sum(counts[i][i] for i in range(len(names)))
    confidences = [item["confidence"] for item in wrong["items"]]
    assert confidences == sorted(confidences, reverse=True)
    at_zero = _by_name(world.alice.post(f"{url}/thresholds/preview", json={
        "thresholds": {name: 0.0 for name in names}}).json())
    for row in report["per_class"]:
        mine = at_zero[row["name"]]
        assert (mine["support"], mine["predicted"], mine["correct"]) == (row["support"], row["predicted"],
                                                                        row["correct"])


@pytest.mark.slow
def test_a_trained_version_int8_on_request_and_its_extension_compared(world, settings):
    task, model = _trained_version(world)
    _check_routes_against_the_report(world, model)
    url = f"/api/v1/models/{model['id']}/int8"

    queued = world.alice.post(url)
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["int8"]["job_id"]
    assert queued.json()["int8"]["state"] == "queued"
    assert_problem(world.alice.post(url), 409, "int8_running")
    job = _wait(world.alice, f"/api/v1/jobs/{job_id}")
    assert job["state"] == "succeeded", job["error"]

    version = world.alice.get(f"/api/v1/models/{model['id']}").json()
    record = version["int8"]
    assert record["state"] == "succeeded" and record["job_id"] == job_id and record["file"] == "model-int8.cmb"
    assert record["eval_images"] == model["metrics"]["val"]["n_images"]
    assert 0 <= record["fp32_accuracy"] <= 1 and 0 <= record["int8_accuracy"] <= 1
    # FP32 under ONNX Runtime on the same images as the report (PyTorch): at most a borderline image apart
    assert abs(record["fp32_accuracy"] - model["metrics"]["val"]["accuracy"]) <= 1 / record["eval_images"] + 1e-9
    assert record["checkpoint_epoch"] == model["metrics"]["best_epoch"]
    folder = settings.workspace / version_folder(world, model["id"])
    assert not list(folder.glob(".*.tmp"))  # the temporary name is gone
    assert record["size_bytes"] == (folder / "model-int8.cmb").stat().st_size
    assert version["size_bytes"] == model["size_bytes"] + record["size_bytes"]
    download = world.alice.get(f"/api/v1/models/{model['id']}/files/model-int8.cmb")
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as bundle:
        assert {"model.onnx", "model.int8.onnx"} <= set(bundle.namelist())
    again = world.alice.post(url)
    assert again.status_code == 200 and again.json()["int8"] == record  # already there: no new job

    # one more epoch: version 2 of the same task, compared with version 1 on the same validation images
    assert world.alice.post(f"/api/v1/tasks/{task['id']}/extend", json={"epochs": 1}).status_code == 200
    task = _wait(world.alice, f"/api/v1/tasks/{task['id']}")
    assert task["job"]["state"] == "succeeded", task["job"]["error"]
    first, second = task["model_versions"]
    compared = world.alice.get("/api/v1/models/compare", params={"a": first["id"], "b": second["id"]}).json()
    assert compared["config_differences"] == {} and (compared["a"]["epochs"], compared["b"]["epochs"]) == (1, 2)
    images = compared["images"]
    assert images["shared"] == first["metrics"]["val"]["n_images"] and images["only_a"] == images["only_b"] == 0
    assert sum(images["counts"].values()) == images["shared"]
    accuracy = compared["metrics"]["overall"]["accuracy"]
    assert accuracy["a"] == pytest.approx(first["metrics"]["val"]["accuracy"])
    assert accuracy["delta"] == pytest.approx(second["metrics"]["val"]["accuracy"] - accuracy["a"])
    correct_a = accuracy["a"] * images["shared"]
    assert round(correct_a + images["counts"]["fixed"] - images["counts"]["broken"]) == \
        round(accuracy["b"] * images["shared"])

    # a run whose best checkpoint is no longer the version's (as after an extension that improved it)
    status_file = settings.workspace / "runs" / f"task-{task['id']}" / "status.json"
    status = json.loads(status_file.read_text())
    status_file.write_text(json.dumps({**status, "best_epoch": second["metrics"]["best_epoch"] + 7}))
    assert_problem(world.alice.post(f"/api/v1/models/{second['id']}/int8"), 409, "checkpoint_moved")
    status_file.write_text(json.dumps(status))

    # the task deleted with its run: INT8 of the version it left is refused; the one made earlier stays
    assert world.alice.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    assert_problem(world.alice.post(f"/api/v1/models/{second['id']}/int8"), 409, "run_gone")
    assert world.alice.post(url).status_code == 200


def version_folder(world, version_id: int) -> str:
    from classmill.server.db.training import ModelVersion

    world.db.expire_all()
    return world.db.get(ModelVersion, version_id).folder
