"""Imports through the real server: neu-steel as a zip, a dropped upload, and a kill -9 during an import."""

from __future__ import annotations

import socket
import subprocess
import time
import zipfile

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import classmill.data
from classmill.server.db.datasets import VersionImage
from classmill.server.db.session import make_engine
from classmill.server.store.layout import StoreLayout
from support.images import SHARED_DATASETS
from support.live_server import LiveServer, stream_file
from support.server_imports import small_jpegs, wait_for_job, zip_folder

NEU_STEEL = SHARED_DATASETS / "neu-steel"


@pytest.fixture
def server(settings, tmp_path):
    live = LiveServer(tmp_path / "ws", settings.resolved_database_url).start()
    yield live
    live.stop()


def _problems(report: dict) -> list[tuple]:
    return sorted((p["severity"], p["rule"], p.get("file") or "", p.get("label") or "")
                  for p in report["errors"] + report["warnings"])


@pytest.mark.slow
def test_neu_steel_zip_through_the_real_server_stores_the_librarys_report(server, tmp_path):
    if not NEU_STEEL.is_dir():
        pytest.fail(f"{NEU_STEEL} is missing: the shared datasets are part of the test setup")
    zip_path = zip_folder(NEU_STEEL, tmp_path / "neu-steel.zip", top="neu-steel")
    with server.admin_client() as api:
        dataset_id = api.post("/api/v1/datasets", json={"name": "neu-steel"}).json()["id"]
        response = stream_file(api, f"/api/v1/datasets/{dataset_id}/imports", zip_path)
        assert response.status_code == 202, response.text
        job = wait_for_job(api.get, response.json()["id"], seconds=120)
        assert job["state"] == "succeeded", job
        assert api.get(f"/api/v1/datasets/{dataset_id}").json()["status"] == "ready"
        stored = api.get(f"/api/v1/datasets/{dataset_id}/report").json()["report"]
    library = classmill.data.check(zip_path, extract_dir=tmp_path / "extracted")
    expected = library.to_dict()
    for key in ("ok", "classes", "files_checked", "usable_images", "dataset_hash", "kind", "ignored"):
        assert stored[key] == expected[key], key
    assert _problems(stored) == _problems(expected)
    assert expected["usable_images"] == 1800
    # a version holds each file once: neu-steel's same-label copy is reported (warning "duplicate"), not stored twice
    assert job["result"]["image_count"] == len({r.content_hash for r in library.dataset.records})
    assert ("warning", "duplicate") in {p[:2] for p in _problems(stored)}
    with server.admin_client() as api:
        _browse_edit_diff_and_export(api, dataset_id, library, tmp_path)


def _browse_edit_diff_and_export(api, dataset_id: int, library, tmp_path) -> None:
    """The rest of the issue's real-server journey on the imported neu-steel."""
    base = f"/api/v1/datasets/{dataset_id}/versions"
    # Gallery: a class filter, paged at the 200 limit, returns exactly that class's images, once each.
    expected = {r.content_hash for r in library.dataset.records if r.label == "scratches"}
    pages = [api.get(f"{base}/1/images", params={"label": "scratches", "limit": 200, "offset": offset}).json()
             for offset in (0, 200)]
    seen = [item["hash"] for page in pages for item in page["items"]]
    assert pages[0]["total"] == len(expected) and len(pages[0]["items"]) == 200
    assert len(seen) == len(set(seen)) and set(seen) == expected
    names = [item["original_name"] for page in pages for item in page["items"]]
    assert names == sorted(names)  # a stable order, so paging never skips or repeats
    assert api.get(pages[0]["items"][0]["thumbnail_url"]).headers["content-type"] == "image/jpeg"
    searched = api.get(f"{base}/1/images", params={"search": "SCRATCHES_1.", "limit": 200}).json()
    assert [item["original_name"].split("/")[-1] for item in searched["items"]] == ["scratches_1.jpg"]
    # Relabel two crazing images as inclusion and delete one patches image: version 2, and the diff says so.
    crazing = api.get(f"{base}/1/images", params={"label": "crazing", "limit": 2}).json()["items"]
    patches = api.get(f"{base}/1/images", params={"label": "patches", "limit": 1}).json()["items"]
    moved, dropped = [item["hash"] for item in crazing], patches[0]["hash"]
    edit = api.post(f"{base}/1/images/edit", json={"delete": [dropped],
                                                   "relabel": [{"hashes": moved, "label": "inclusion"}]})
    assert edit.status_code in (200, 201), edit.text
    assert edit.json()["number"] == 2 and edit.json()["image_count"] == 1799 - 1
    diff = api.get(f"{base}/2/diff", params={"from": 1}).json()
    assert diff["removed"] == [dropped] and diff["added"] == []
    assert sorted(r["hash"] for r in diff["relabelled"]) == sorted(moved)
    # Export of version 2 round-trips through the library's readers.
    exported = tmp_path / "v2.zip"
    with api.stream("GET", f"{base}/2/export") as response:
        assert response.status_code == 200
        with open(exported, "wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
    again = classmill.data.check(exported, extract_dir=tmp_path / "v2-extracted").dataset
    labels = {r.content_hash: r.label for r in again.records}
    v2 = {r.content_hash: r.label for r in library.dataset.records if r.content_hash != dropped}
    v2.update({h: "inclusion" for h in moved})
    assert labels == v2


@pytest.mark.slow
def test_a_dropped_upload_leaves_nothing_and_a_retry_works(server, tmp_path):
    root = tmp_path / "src"
    for seed, label in enumerate(("ok", "ng")):  # fixed seeds: hash() of a str changes per process
        for i, data in enumerate(small_jpegs(20, seed=seed)):
            (root / label).mkdir(parents=True, exist_ok=True)
            (root / label / f"{i}.jpg").write_bytes(data)
    zip_path = zip_folder(root, tmp_path / "d.zip")
    body = zip_path.read_bytes()
    with server.admin_client() as api:
        dataset_id = api.post("/api/v1/datasets", json={"name": "d"}).json()["id"]
        token = api.headers["Authorization"]
        with socket.create_connection(("127.0.0.1", server.port)) as raw:
            raw.sendall((f"POST /api/v1/datasets/{dataset_id}/imports HTTP/1.1\r\nHost: x\r\n"
                         f"Authorization: {token}\r\nContent-Type: application/zip\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n").encode() + body[: len(body) // 2])
            time.sleep(0.5)
        time.sleep(1.0)
        staging = server.workspace / "staging"
        assert not staging.exists() or list(staging.iterdir()) == []
        assert api.get(f"/api/v1/datasets/{dataset_id}").json()["status"] == "empty"
        assert api.get(f"/api/v1/datasets/{dataset_id}/report").status_code == 404
        response = stream_file(api, f"/api/v1/datasets/{dataset_id}/imports", zip_path)
        assert response.status_code == 202, response.text
        assert wait_for_job(api.get, response.json()["id"])["state"] == "succeeded"


def _kill_job_processes(live: LiveServer) -> None:
    subprocess.run(["pkill", "-9", "-f", f"classmill.server.jobs.entry .*--workspace {live.workspace}"], check=False)


@pytest.mark.slow
def test_kill_9_during_a_2000_image_import_then_restart_and_retry(server, settings, tmp_path):
    zip_path = tmp_path / "big.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as zf:
        for label_index, label in enumerate(("a", "b", "c", "d")):
            for i, data in enumerate(small_jpegs(500, side=36, seed=label_index + 1)):
                zf.writestr(f"{label}/{i}.jpg", data)
    with server.admin_client() as api:
        dataset_id = api.post("/api/v1/datasets", json={"name": "big"}).json()["id"]
        job_id = stream_file(api, f"/api/v1/datasets/{dataset_id}/imports", zip_path).json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = api.get(f"/api/v1/jobs/{job_id}").json()
            if job["progress_phase"] == "store" and job["progress_done"] > 0:
                break  # some files are in the store, no version row yet
            assert job["state"] in ("queued", "running"), job
            time.sleep(0.02)
        server.kill9()  # the machine loses power: the server and the import's job process die together
        _kill_job_processes(server)
    assert job["state"] == "running" and job["progress_phase"] == "store", job

    server.start()
    with server.admin_client() as api:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        assert job["state"] == "failed" and "stopped before it finished" in job["error"], job
        dataset = api.get(f"/api/v1/datasets/{dataset_id}").json()
        assert dataset["status"] == "failed" and "retry" in dataset["status_reason"]
        assert api.get(f"/api/v1/datasets/{dataset_id}/report").status_code == 404  # no half version
        assert list((server.workspace / "staging").iterdir()) == []
        # what the killed import stored is collected at the restart
        assert not any(StoreLayout(server.workspace).images.rglob("*.jpg"))

        retry = stream_file(api, f"/api/v1/datasets/{dataset_id}/imports", zip_path)
        job = wait_for_job(api.get, retry.json()["id"], seconds=120)
        assert job["state"] == "succeeded" and job["result"]["image_count"] == 2000, job
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        hashes = set(session.scalars(select(VersionImage.content_hash)))
    engine.dispose()
    blobs = StoreLayout(server.workspace).blobs
    assert len(hashes) == 2000 and all(blobs.exists(h) for h in hashes)


@pytest.mark.slow
def test_an_import_outlives_a_killed_server_and_the_restarted_server_sees_it_finish(server, tmp_path):
    zip_path = tmp_path / "big.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as zf:
        for label_index, label in enumerate(("a", "b")):
            for i, data in enumerate(small_jpegs(600, side=36, seed=label_index + 7)):
                zf.writestr(f"{label}/{i}.jpg", data)
    with server.admin_client() as api:
        dataset_id = api.post("/api/v1/datasets", json={"name": "survivor"}).json()["id"]
        job_id = stream_file(api, f"/api/v1/datasets/{dataset_id}/imports", zip_path).json()["id"]
        deadline = time.monotonic() + 60
        while (job := api.get(f"/api/v1/jobs/{job_id}").json())["state"] == "queued" and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill9()  # only the server: the import runs in its own job process
    assert job["state"] == "running", job
    server.start()
    with server.admin_client() as api:
        job = wait_for_job(api.get, job_id, seconds=120)
        assert job["state"] == "succeeded" and job["result"]["image_count"] == 1200, job
        assert api.get(f"/api/v1/datasets/{dataset_id}").json()["status"] == "ready"
