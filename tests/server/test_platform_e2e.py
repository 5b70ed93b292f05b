"""The platform end to end, through the real server, as a user of the seed platforms goes:
upload the casting photos → a `fast` task → a model version with its report → a single-image test
→ a batch test (a broken file is a CSV error row) → publish → predict through the endpoint with a
token → download the offline SDK, install it in a fresh venv without torch, serve, predict the same
image: the same answer.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import httpx
import pytest

from support.images import SHARED_DATASETS
from support.live_server import LiveServer, stream_file
from support.sdk_install import install_sdk, run, running_sdk
from support.server_imports import wait_for_job, zip_folder
from support.training import wait_for
from support.server_tasks import SETTLED

pytestmark = pytest.mark.slow
CASTING = SHARED_DATASETS / "casting"


@pytest.fixture
def server(tmp_path):
    workspace = tmp_path / "ws"
    live = LiveServer(workspace, f"sqlite:///{workspace / 'classmill.db'}").start()
    yield live
    live.stop()


def test_casting_from_upload_to_an_offline_sdk_that_answers_like_the_platform(server, tmp_path):
    sample = sorted((CASTING / "def_front").iterdir())[0]
    with server.admin_client() as api:
        api.timeout = 300
        # 1. the dataset
        dataset = api.post("/api/v1/datasets", json={"name": "casting"}).json()["id"]
        imported = stream_file(api, f"/api/v1/datasets/{dataset}/imports",
                               zip_folder(CASTING, tmp_path / "casting.zip", top="casting"))
        assert imported.status_code == 202, imported.text
        assert wait_for_job(api.get, imported.json()["id"], seconds=300)["state"] == "succeeded"
        project = api.post("/api/v1/projects", json={"name": "inspection", "dataset_id": dataset}).json()["id"]

        # 2. a fast task -> a model version with its report
        task = api.post(f"/api/v1/projects/{project}/tasks",
                        json={"name": "first", "dataset_version": 1, "preset": "fast"}).json()
        wait_for(lambda: api.get(f"/api/v1/tasks/{task['id']}").json()["job"]["state"] in SETTLED, 600)
        task = api.get(f"/api/v1/tasks/{task['id']}").json()
        assert task["job"]["state"] == "succeeded", task["job"]["error"]
        [model] = task["model_versions"]
        report = api.get(f"/api/v1/models/{model['id']}/report").json()
        assert report["class_names"] == ["def_front", "ok_front"] and report["n_images"] == 120
        assert report["overall"]["accuracy"] >= 0.9  # a linear probe on casting: ~0.99 on held-out data
        html = api.get(f"/api/v1/models/{model['id']}/files/report/val/report.html")
        assert html.status_code == 200 and "def_front" in html.text

        # 3. a single-image test
        tested = api.post(f"/api/v1/models/{model['id']}/test",
                          files=[("files", (sample.name, sample.read_bytes(), "image/jpeg"))]).json()["results"][0]
        assert tested["error"] is None and len(tested["top5"]) == 2
        assert api.get(tested["result_image"]).headers["content-type"] == "image/png"

        # 4. a batch test of a zip with class folders and a broken file
        batch = tmp_path / "batch.zip"
        with zipfile.ZipFile(batch, "w") as archive:
            for label in ("def_front", "ok_front"):
                for image in sorted((CASTING / label).iterdir())[-5:]:
                    archive.write(image, f"{label}/{image.name}")
            archive.writestr("ok_front/broken.jpeg", b"\xff\xd8 truncated, not a JPEG")
        started = api.post(f"/api/v1/models/{model['id']}/batch-tests", content=batch.read_bytes(),
                           headers={"Content-Type": "application/zip"})
        assert started.status_code == 202, started.text
        url = f"/api/v1/batch-tests/{started.json()['id']}"
        wait_for(lambda: api.get(url).json()["job"]["state"] in SETTLED, 300)
        done = api.get(url).json()
        assert done["job"]["state"] == "succeeded", done["job"]["error"]
        assert done["job"]["result"]["errors"] == 1 and done["job"]["result"]["accuracy"]["images"] == 10
        rows = list(csv.DictReader(io.StringIO(api.get(done["files"]["predictions.csv"]).content.decode("utf-8-sig"))))
        [broken] = [row for row in rows if row["file"].endswith("broken.jpeg")]
        assert broken["top1"] == "" and broken["error"]
        assert len(rows) == 11

        # 5. publish, then predict through the endpoint with the token
        endpoint = api.post("/api/v1/endpoints", json={"model_version_id": model["id"], "name": "casting-line"})
        assert endpoint.status_code == 201, endpoint.text
        assert endpoint.json()["url"] == f"{server.url}/serve/casting-line/predict"
        [served] = api.post("/serve/casting-line/predict",
                            files={"files": (sample.name, sample.read_bytes(), "image/jpeg")}).json()
        assert httpx.post(f"{server.url}/serve/casting-line/predict",
                          files={"files": (sample.name, sample.read_bytes())}).status_code == 401
        assert served["label"] == tested["label"]
        assert served["top_k"][0]["prob"] == pytest.approx(tested["confidence"], abs=1e-5)

        # 6. the offline SDK
        sdk = api.get(f"/api/v1/models/{model['id']}/sdk")
        assert sdk.status_code == 200, sdk.text
    sdk_zip = tmp_path / "sdk.zip"
    sdk_zip.write_bytes(sdk.content)
    with zipfile.ZipFile(sdk_zip) as archive:
        folder = archive.namelist()[0].split("/")[0]
        wheel = next(name.split("/")[-1] for name in archive.namelist() if name.endswith(".whl"))
    installed = install_sdk(sdk_zip, folder, wheel, tmp_path)
    no_torch = run([str(installed.python), "-c", "import torch"], tmp_path, installed.env, 60)
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
    with running_sdk(installed) as sdk_url:
        [offline] = httpx.post(f"{sdk_url}/predict", files={"files": (sample.name, sample.read_bytes())},
                               timeout=60).json()
    assert offline["label"] == served["label"] and offline["uncertain"] == served["uncertain"]
    for got, want in zip(offline["top_k"], served["top_k"]):
        assert got["label"] == want["label"] and got["prob"] == pytest.approx(want["prob"], abs=1e-5)
    print("\nend to end:", json.dumps({"val_accuracy": report["overall"]["accuracy"], "answer": offline["label"],
                                      "confidence": offline["top_k"][0]["prob"],
                                      "sdk_install_s": round(installed.install_seconds, 1)}))
