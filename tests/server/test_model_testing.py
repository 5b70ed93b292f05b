"""Testing a model version: single images (top-5, result picture, error entries), adding a tested image to a
dataset, batch tests of a zip in a job (CSV, sorted zip, accuracy), hostile zips and other users' models.

SQLite and PostgreSQL (the `settings` fixture). No training: the model version is the colour bundle
(support/colour_bundle.py), which answers the dominant colour of an image's top half.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from PIL import Image
from sqlalchemy import func, select

from classmill.server.db.jobs import Job
from classmill.server.jobs.sorted_zip import SortedZip
from classmill.server.store.tested_images import TestedImages
from support.colour_bundle import COLOURS, build_colour_bundle, two_tone
from support.images import huge_png
from support.server_accounts import assert_problem
from support.server_imports import zip_of
from support.server_models import add_model_version
from support.server_world import make_world
from support.training import wait_for
from support.server_tasks import SETTLED

ZIP = {"Content-Type": "application/zip"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_colour_bundle(tmp_path_factory.mktemp("bundle") / "colour.cmb")


@pytest.fixture
def world(client, new_client, app, settings):
    w = make_world(client, new_client, app, settings)
    yield w
    w.db.close()


def _model(world, settings, bundle, thresholds=None) -> dict:
    """Alice's project on a dataset of classes red and green, with a model version over the colour bundle."""
    images = [(label, None, f"{label}/{i}.png") for label in ("red", "green") for i in range(2)]
    dataset, _, _ = world.dataset("alice", "photos", images)
    project = world.alice.post("/api/v1/projects", json={"name": "colours", "dataset_id": dataset.id})
    assert project.status_code == 201, project.text
    version = add_model_version(world.db, settings.workspace, project.json()["id"], bundle=bundle,
                                thresholds=thresholds)
    return {"id": version.id, "dataset_id": dataset.id}


def _png(top: str, bottom: str = "dark") -> bytes:
    buffer = io.BytesIO()
    two_tone(COLOURS[top], COLOURS[bottom]).save(buffer, format="PNG")
    return buffer.getvalue()


def _test(client, version_id: int, files: list[tuple[str, bytes]]):
    return client.post(f"/api/v1/models/{version_id}/test",
                       files=[("files", (name, data, "application/octet-stream")) for name, data in files])


def _kept(settings, folder: str) -> list[str]:
    """Files kept by single-image tests: in "tests" (a JSON and a picture per test) or "images" (by hash)."""
    root = settings.workspace / "model-tests" / folder
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


# ---- single-image tests ----

def test_ten_images_answer_top5_and_a_result_picture_each_and_bad_files_are_named(world, settings, bundle, tmp_path):
    model = _model(world, settings, bundle)
    tops = ["red", "green", "blue", "dark", "red", "green", "blue"]
    files = [(f"{i}-{top}.png", _png(top)) for i, top in enumerate(tops)]
    files += [("broken.jpg", b"plain text, not an image"),
              ("huge.png", huge_png(tmp_path / "huge.png", side=7000).read_bytes()),  # 49 MP, over the 40 MP limit
              ("big.jpg", b"\xff\xd8" + b"\0" * (4 * 2**20))]  # over the 4 MiB of a test image
    response = _test(world.alice, model["id"], files)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["file"] for r in results] == [name for name, _ in files]
    for top, result in zip(tops, results):
        assert result["label"] == top and result["error"] is None
        confidences = [entry["confidence"] for entry in result["top5"]]
        assert len(confidences) == 4  # the model has four classes: its top-5 lists all of them
        assert confidences == sorted(confidences, reverse=True) and confidences[0] == result["confidence"]
        assert abs(sum(confidences) - 1) < 1e-3
    errors = {r["file"]: r for r in results[len(tops):]}
    assert errors["broken.jpg"]["code"] == "unreadable_image" and "not an image" in errors["broken.jpg"]["error"]
    assert errors["huge.png"]["code"] == "too_many_pixels" and "megapixels" in errors["huge.png"]["error"]
    assert errors["big.jpg"]["code"] == "file_too_large"
    assert all(r["test_id"] is None and r["result_image"] is None for r in errors.values())

    picture = world.alice.get(results[0]["result_image"])
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(picture.content)) as img:
        assert img.width >= 360 and img.height > img.width  # the picture, enlarged, with its caption band below
    answer = world.alice.get(f"/api/v1/models/{model['id']}/tests/{results[1]['test_id']}").json()
    assert answer["label"] == "green" and answer["file"] == "1-green.png"
    # Two tests of the same picture are two tests of one kept file: 7 tests, 4 distinct pictures.
    assert len({r["test_id"] for r in results[:7]}) == 7
    assert len([name for name in _kept(settings, "tests") if name.endswith(".json")]) == 7
    assert len(_kept(settings, "images")) == 4


def test_eleven_images_or_none_are_refused_and_nothing_is_kept(world, settings, bundle):
    model = _model(world, settings, bundle)
    body = assert_problem(_test(world.alice, model["id"], [(f"{i}.png", _png("red")) for i in range(11)]), 422,
                          "too_many_images")
    assert "11" in body["detail"] and "batch" in body["fix"]
    assert_problem(world.alice.post(f"/api/v1/models/{model['id']}/test", data={"x": "1"}), 422, "no_files")
    # The body is cut off at 10 images' worth (10 x 4 MiB and the form), before anything parses it.
    problem = assert_problem(_test(world.alice, model["id"], [("big.png", b"\0" * (42 * 2**20))]), 413,
                             "request_too_large")
    assert "10 images" in problem["fix"]
    assert _kept(settings, "tests") == [] and _kept(settings, "images") == []


def test_the_versions_thresholds_flag_an_answer_uncertain(world, settings, bundle, tmp_path):
    model = _model(world, settings, bundle, thresholds={"red": 1.0, "blue": 0.0})
    results = _test(world.alice, model["id"], [("r.png", _png("red")), ("b.png", _png("blue"))]).json()["results"]
    assert [(r["label"], r["uncertain"]) for r in results] == [("red", True), ("blue", False)]
    archive = zip_of({"red/r.png": _png("red"), "blue/b.png": _png("blue")}, tmp_path / "two.zip")
    done = _finished(world.alice, _batch(world.alice, model["id"], archive.read_bytes()).json()["id"])
    assert done["job"]["result"]["uncertain"] == 1
    with zipfile.ZipFile(io.BytesIO(world.alice.get(done["files"]["sorted.zip"]).content)) as sorted_zip:
        assert sorted(sorted_zip.namelist()) == ["blue/b.png", "uncertain/red/r.png"]


def test_tests_expire_and_the_sweep_deletes_them_and_their_images(tmp_path):
    area = TestedImages(tmp_path / "model-tests", retention_s=60)
    first = area.keep(b"same bytes", ".png", "a.png", 1, 1, {"label": "red"}, b"png")
    second = area.keep(b"same bytes", ".png", "b.png", 1, 1, {"label": "red"}, b"png")
    assert area.get(first.id) == first and area.image_path(first) == area.image_path(second)
    assert area.get("../" + first.id) is None and area.get(first.id.upper()) is None
    assert area.sweep(now=first.created_at + 30) == 0  # young: everything stays
    assert area.sweep(now=first.created_at + 61) == 5  # 2 tests x (json + png), then the image none refers to
    assert area.get(first.id) is None and list((tmp_path / "model-tests").rglob("*.png")) == []


def test_the_sorted_zip_gives_every_image_its_own_name_and_a_stopped_one_leaves_no_file(tmp_path):
    with SortedZip(tmp_path / "sorted.zip", ["errors", "a:b"]) as sorted_zip:
        names = [sorted_zip.add("x/1.png", b"1", "a:b"), sorted_zip.add("y/1.PNG", b"2", "a:b"),
                 sorted_zip.add("q.png", b"3", None), sorted_zip.add("e.png", b"4", "errors"),
                 sorted_zip.add("u.png", b"5", "errors", uncertain=True)]
    # A class named "errors" keeps its folder; ':' cannot be in a Windows folder name; 1.png and 1.PNG would
    # overwrite each other when unpacked on a case-insensitive file system.
    assert names == ["a_b/1.png", "a_b/1_1.PNG", "_errors/q.png", "errors/e.png", "uncertain/errors/u.png"]
    with zipfile.ZipFile(tmp_path / "sorted.zip") as done:
        assert done.read("a_b/1_1.PNG") == b"2"
    with pytest.raises(RuntimeError), SortedZip(tmp_path / "stopped.zip", ["a"]) as sorted_zip:
        sorted_zip.add("a.png", b"1", "a")
        raise RuntimeError("stop")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sorted.zip"]


# ---- a tested image into a dataset ----

def _images(client, dataset_id: int, number: int) -> dict[str, dict]:
    page = client.get(f"/api/v1/datasets/{dataset_id}/versions/{number}/images?limit=100").json()
    return {image["hash"]: image for image in page["items"]}


def test_a_tested_image_joins_the_dataset_with_the_predicted_or_a_corrected_label(world, settings, bundle):
    model = _model(world, settings, bundle)
    url = f"/api/v1/models/{model['id']}/tests"
    red, green = _test(world.alice, model["id"], [("r.png", _png("red")), ("g.png", _png("green"))]).json()["results"]

    made = world.alice.post(f"{url}/{red['test_id']}/add-to-dataset", json={"label": red["label"]})
    assert made.status_code == 201, made.text
    assert made.json()["number"] == 2 and made.json()["image_count"] == 5
    assert "added a tested image to 'red'" in made.json()["summary"]
    added = {h: i for h, i in _images(world.alice, model["dataset_id"], 2).items()}
    [(digest, image)] = [(h, i) for h, i in added.items() if i["original_name"] == "r.png"]
    assert image["label"] == "red"
    assert world.alice.get(image["image_url"]).content == _png("red")  # the very bytes tested, in the store

    corrected = world.alice.post(f"{url}/{green['test_id']}/add-to-dataset",
                                 json={"label": "olive", "split": "train"})
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["number"] == 3 and "olive" in corrected.json()["classes"]
    [olive] = [i for i in _images(world.alice, model["dataset_id"], 3).values() if i["original_name"] == "g.png"]
    assert (olive["label"], olive["split"]) == ("olive", "train")

    relabelled = world.alice.post(f"{url}/{red['test_id']}/add-to-dataset", json={"label": "green"})
    assert relabelled.status_code == 201 and relabelled.json()["image_count"] == 6
    assert _images(world.alice, model["dataset_id"], 4)[digest]["label"] == "green"
    assert_problem(world.alice.post(f"{url}/{red['test_id']}/add-to-dataset", json={"label": "green"}), 422,
                   "images_present")
    assert_problem(world.alice.post(f"{url}/{red['test_id']}/add-to-dataset", json={"label": "a/b"}), 422,
                   "bad_label")
    assert_problem(world.alice.post(f"{url}/{'0' * 32}/add-to-dataset", json={"label": "red"}), 404,
                   "test_not_found")
    assert_problem(world.alice.post(f"{url}/{red['test_id']}/add-to-dataset",
                                    json={"label": "red", "dataset_id": 999_999}), 404, "dataset_not_found")


# ---- batch tests ----

def _batch(client, version_id: int, body: bytes):
    return client.post(f"/api/v1/models/{version_id}/batch-tests", content=body, headers=ZIP)


def _finished(client, test_id: int, timeout: float = 120) -> dict:
    wait_for(lambda: client.get(f"/api/v1/batch-tests/{test_id}").json()["job"]["state"] in SETTLED, timeout)
    return client.get(f"/api/v1/batch-tests/{test_id}").json()


def test_a_batch_test_writes_a_csv_with_error_rows_a_sorted_zip_and_the_accuracy(world, settings, bundle, tmp_path):
    model = _model(world, settings, bundle)
    archive = zip_of({
        "images/red/r1.png": _png("red"), "images/red/r2.png": _png("red", "green"),
        "images/green/g1.png": _png("green"), "images/green/g2.png": _png("green", "blue"),
        "images/green/g3.png": _png("blue"),  # a wrong answer: its folder says green
        "images/blue/broken.jpg": b"not an image at all",
        "loose/图片.png": _png("dark"),  # in no class folder: predicted, not scored
        "images/readme.txt": b"skipped: not an image",
    }, tmp_path / "batch.zip")
    started = _batch(world.alice, model["id"], archive.read_bytes())
    assert started.status_code == 202, started.text
    done = _finished(world.alice, started.json()["id"])
    job = done["job"]
    assert job["state"] == "succeeded", job["error"]
    assert (job["progress_phase"], job["progress_done"], job["progress_total"]) == ("classify", 7, 7)
    result = job["result"]
    assert (result["images"], result["predicted"], result["errors"], result["skipped_files"]) == (7, 6, 1, 1)
    accuracy = result["accuracy"]
    assert (accuracy["images"], accuracy["unreadable"]) == (5, 1)
    assert accuracy["accuracy"] == pytest.approx(4 / 5)
    assert accuracy["per_class"]["red"]["correct"] == 2 and accuracy["per_class"]["green"]["images"] == 3
    assert accuracy["per_class"]["green"]["recall"] == pytest.approx(2 / 3)

    csv_answer = world.alice.get(done["files"]["predictions.csv"])
    assert csv_answer.status_code == 200 and csv_answer.content.startswith(b"\xef\xbb\xbf")  # the BOM, for Excel
    assert "attachment" in csv_answer.headers["content-disposition"]
    rows = {row["file"]: row for row in csv.DictReader(io.StringIO(csv_answer.content.decode("utf-8-sig")))}
    assert len(rows) == 7 and rows["loose/图片.png"]["top1"] == "dark"
    broken = rows["images/blue/broken.jpg"]
    assert broken["top1"] == "" and "not an image" in broken["error"] and broken["true_label"] == "blue"
    assert (rows["images/green/g3.png"]["top1"], rows["images/green/g3.png"]["correct"]) == ("blue", "false")
    assert [e["label"] for e in json.loads(rows["images/red/r2.png"]["top5"])][0] == "red"

    sorted_answer = world.alice.get(done["files"]["sorted.zip"])
    assert sorted_answer.status_code == 200
    with zipfile.ZipFile(io.BytesIO(sorted_answer.content)) as sorted_zip:
        assert sorted(sorted_zip.namelist()) == sorted([
            "red/r1.png", "red/r2.png", "green/g1.png", "green/g2.png", "blue/g3.png", "dark/图片.png",
            "errors/broken.jpg"])
        assert sorted_zip.read("blue/g3.png") == _png("blue")
    assert not (settings.workspace / "staging").exists() or list((settings.workspace / "staging").iterdir()) == []


@pytest.fixture(scope="module")
def hostile_zips(tmp_path_factory) -> dict[str, bytes]:
    """Made once: the bomb alone deflates 300 MB."""
    folder = tmp_path_factory.mktemp("hostile")
    good = _png("red")
    bomb = folder / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/ok.png", good)
        zf.writestr("a/huge.png", b"\0" * (300 * 1024**2))  # unpacks past the 256 MB per-entry limit
    crowded = folder / "crowded.zip"
    with zipfile.ZipFile(crowded, "w") as zf:
        for i in range(200_001):  # one entry over the archive limit
            zf.writestr(f"{i}", b"")
    return {"slip": zip_of({"a/ok.png": good, "../../evil.png": good}, folder / "slip.zip").read_bytes(),
            "absolute": zip_of({"/etc/evil.png": good}, folder / "absolute.zip").read_bytes(),
            "bomb": bomb.read_bytes(), "crowded": crowded.read_bytes(),
            "no_images": zip_of({"notes.txt": b"hello"}, folder / "text.zip").read_bytes()}


def test_hostile_zips_are_refused_before_any_job_and_nothing_is_left(world, settings, bundle, hostile_zips):
    model = _model(world, settings, bundle)
    for body, status, code, named in ((hostile_zips["slip"], 400, "unsafe_archive", "evil.png"),
                                      (hostile_zips["absolute"], 400, "unsafe_archive", "evil.png"),
                                      (hostile_zips["bomb"], 400, "bad_archive", "limit"),
                                      (hostile_zips["crowded"], 400, "bad_archive", "entries"),
                                      (hostile_zips["no_images"], 422, "no_images", "no image"),
                                      (b"GIF89a", 400, "not_a_zip", "zip"), (b"", 400, "empty_upload", "empty")):
        problem = assert_problem(_batch(world.alice, model["id"], body), status, code)
        assert named in problem["detail"] and problem["fix"]
        staging, folders = settings.workspace / "staging", settings.workspace / "batch-tests"
        assert not staging.exists() or list(staging.iterdir()) == [], code
        assert not folders.exists() or list(folders.iterdir()) == [], code
    assert world.db.scalar(select(func.count()).select_from(Job)) == 0


# ---- access ----

def test_another_users_model_tests_and_batch_tests_do_not_exist_for_them(world, settings, bundle, tmp_path):
    model = _model(world, settings, bundle)
    [red] = _test(world.alice, model["id"], [("r.png", _png("red"))]).json()["results"]
    batch = _batch(world.alice, model["id"], zip_of({"red/r.png": _png("red")}, tmp_path / "one.zip").read_bytes())
    assert batch.status_code == 202
    batch_id = batch.json()["id"]
    url = f"/api/v1/models/{model['id']}"
    assert_problem(_test(world.bob, model["id"], [("r.png", _png("red"))]), 404, "model_not_found")
    assert_problem(world.bob.get(f"{url}/tests/{red['test_id']}/result.png"), 404)
    assert_problem(world.bob.post(f"{url}/tests/{red['test_id']}/add-to-dataset", json={"label": "red"}), 404)
    assert_problem(_batch(world.bob, model["id"], b"PK\x05\x06" + b"\0" * 18), 404, "model_not_found")
    assert_problem(world.bob.get(f"/api/v1/batch-tests/{batch_id}"), 404, "batch_test_not_found")
    assert_problem(world.bob.get(f"/api/v1/batch-tests/{batch_id}/predictions.csv"), 404)
    assert _finished(world.alice, batch_id)["job"]["state"] == "succeeded"
    assert world.alice.get(f"/api/v1/batch-tests/{batch_id}/predictions.csv").status_code == 200
    assert_problem(world.bob.get(f"/api/v1/batch-tests/{batch_id}/sorted.zip"), 404)
    assert_problem(world.alice.get(f"/api/v1/batch-tests/{batch_id}/other.txt"), 422)
