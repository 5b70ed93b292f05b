"""Imports: a zip upload, a server folder, images into one class; hostile inputs refused, nothing stored."""

from __future__ import annotations

import threading
import zipfile

import classmill.data
from classmill.server.services.import_job import run_import
from classmill.server.state import STATE_ATTRIBUTE
from support.images import huge_png, make_class_folders
from support.server_accounts import assert_problem
from support.server_imports import class_zip, small_jpegs, wait_for_job, zip_folder, zip_of

from support.server_platform import UPLOAD_LIMIT, platform  # noqa: F401 - fixture

ZIP = {"Content-Type": "application/zip"}


def _upload(client, dataset_id: int, body: bytes):
    return client.post(f"/api/v1/datasets/{dataset_id}/imports", content=body, headers=ZIP)


def _imported(client, dataset_id: int, body: bytes) -> dict:
    response = _upload(client, dataset_id, body)
    assert response.status_code == 202, response.text
    return wait_for_job(client.get, response.json()["id"])


def _nothing_stored(platform, dataset_id: int) -> None:
    assert platform.stored_files() == []
    assert platform.staging_entries() == []
    assert_problem(platform.admin.get(f"/api/v1/datasets/{dataset_id}/report"), 404, "no_version")


def test_zip_import_stores_images_thumbnails_and_the_library_report(platform, tmp_path):
    zip_path = class_zip(tmp_path, {"ok": 4, "ng": 3})
    dataset_id = platform.new_dataset()
    job = _imported(platform.admin, dataset_id, zip_path.read_bytes())
    assert job["state"] == "succeeded", job
    assert job["result"]["version"] == 1 and job["result"]["image_count"] == 7
    assert job["progress_phase"] == "done" and job["progress_done"] == 7
    dataset = platform.admin.get(f"/api/v1/datasets/{dataset_id}").json()
    assert dataset["status"] == "ready" and dataset["status_reason"] == ""
    stored = platform.admin.get(f"/api/v1/datasets/{dataset_id}/report").json()
    expected = classmill.data.check(zip_path, extract_dir=tmp_path / "x").to_dict()
    assert stored["version"] == 1
    assert stored["report"]["classes"] == expected["classes"]
    assert stored["report"]["dataset_hash"] == expected["dataset_hash"]
    assert len(platform.stored_files()) == 7
    assert len(list((platform.workspace / "store" / "thumbnails").rglob("*.jpg"))) == 7
    assert platform.staging_entries() == []


def test_broken_files_and_a_pixel_bomb_are_reported_and_the_rest_imports(platform, tmp_path):
    root = tmp_path / "src"
    make_class_folders(root, {"ok": 3, "ng": 3})
    (root / "ok" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    huge_png(root / "ng" / "bomb.png", side=9000)  # 81 Mpx, over the 40 Mpx limit, from its header
    dataset_id = platform.new_dataset()
    job = _imported(platform.admin, dataset_id, zip_folder(root, tmp_path / "d.zip").read_bytes())
    assert job["state"] == "succeeded", job
    assert job["result"]["image_count"] == 6
    report = platform.admin.get(f"/api/v1/datasets/{dataset_id}/report").json()["report"]
    by_file = {p["file"]: p for p in report["errors"] if "file" in p}
    assert set(by_file) == {"ok/broken.jpg", "ng/bomb.png"}
    assert by_file["ng/bomb.png"]["rule"] in ("too_many_pixels", "decompression_bomb")
    assert all(p["fix"] for p in by_file.values())
    assert len(platform.stored_files()) == 6


def test_hostile_uploads_are_refused_or_fail_with_a_reason_and_store_nothing(platform, tmp_path):
    dataset_id = platform.new_dataset()
    assert_problem(_upload(platform.admin, dataset_id, b"GIF89a not a zip at all"), 400, "not_a_zip")
    assert_problem(_upload(platform.admin, dataset_id, b""), 400, "empty_upload")
    too_big = _upload(platform.admin, dataset_id, b"PK\x03\x04" + b"\0" * UPLOAD_LIMIT)
    assert_problem(too_big, 413, "upload_too_large")
    _nothing_stored(platform, dataset_id)

    good = small_jpegs(6)
    slip = zip_of({"ok/a.jpg": good[0], "ok/b.jpg": good[1], "ng/c.jpg": good[2], "ng/d.jpg": good[3],
                   "../../evil.jpg": good[4]}, tmp_path / "slip.zip")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok/a.jpg", good[0])
        zf.writestr("ok/huge.jpg", b"\0" * (300 * 1024**2))  # over the 256 MB per-entry limit
    flat = zip_of({"a.jpg": good[0], "b.jpg": good[1], "readme.txt": b"hello"}, tmp_path / "flat.zip")
    whole = class_zip(tmp_path, {"ok": 3, "ng": 3}, name="whole.zip").read_bytes()
    truncated = whole[: len(whole) // 2]  # a dropped upload the client still sent as complete
    # Judged from the zip's directory before any job exists: 400 with the error shape, nothing stored.
    reasons = {}
    for name, body, code in (("slip", slip.read_bytes(), "unsafe_archive"), ("bomb", bomb.read_bytes(), "bad_archive"),
                             ("flat", flat.read_bytes(), "no_class_folders"), ("truncated", truncated, "bad_archive")):
        answer = _upload(platform.admin, dataset_id, body)
        assert_problem(answer, 400, code)
        reasons[name] = answer.json()["detail"]
        assert platform.admin.get(f"/api/v1/datasets/{dataset_id}").json()["status"] == "empty"
        _nothing_stored(platform, dataset_id)
    assert "evil.jpg" in reasons["slip"]
    assert "limit" in reasons["bomb"]
    assert "class folders" in reasons["flat"]
    assert "zip" in reasons["truncated"]
    # and after all that, a good zip imports
    assert _imported(platform.admin, dataset_id, whole)["state"] == "succeeded"


def test_a_second_import_while_one_runs_is_refused_and_others_ids_are_404(platform, tmp_path):
    mine = platform.new_dataset(platform.member, name="bobs")
    body = class_zip(tmp_path, {"ok": 3, "ng": 3}).read_bytes()
    theirs = platform.new_dataset()
    assert_problem(_upload(platform.member, theirs, body), 404, "dataset_not_found")
    assert_problem(platform.member.post(f"/api/v1/datasets/{theirs}/classes/ok/images",
                                        files=[("files", ("a.jpg", small_jpegs(1)[0], "image/jpeg"))]), 404)
    first = _upload(platform.member, mine, body)
    assert first.status_code == 202
    assert_problem(_upload(platform.member, theirs, body), 404)
    wait_for_job(platform.member.get, first.json()["id"])
    assert platform.member.get(f"/api/v1/jobs/{first.json()['id']}").status_code == 200
    other = platform.new_dataset(name="other")
    job = _imported(platform.admin, other, body)
    assert_problem(platform.member.get(f"/api/v1/jobs/{job['id']}"), 404, "job_not_found")


def test_images_into_one_class_make_a_new_version(platform, tmp_path):
    dataset_id = platform.new_dataset()
    assert _imported(platform.admin, dataset_id, class_zip(tmp_path, {"ok": 3, "ng": 3}).read_bytes())["state"] \
        == "succeeded"
    new = small_jpegs(3, seed=9)
    files = [("files", (f"dir/new {i}.jpg", data, "image/jpeg")) for i, data in enumerate(new)]
    files.append(("files", ("notes.txt", b"not an image", "text/plain")))
    response = platform.admin.post(f"/api/v1/datasets/{dataset_id}/classes/scratch/images", files=files)
    assert response.status_code == 202, response.text
    job = wait_for_job(platform.admin.get, response.json()["id"])
    assert job["state"] == "succeeded", job
    assert job["result"] == {"version_id": job["result"]["version_id"], "version": 2, "image_count": 9}
    report = platform.admin.get(f"/api/v1/datasets/{dataset_id}/report").json()
    assert report["version"] == 2 and "scratch" in report["report"]["scope"]
    assert [p["rule"] for p in report["report"]["errors"]] == ["unsupported_format"]
    assert len(platform.stored_files()) == 9
    assert_problem(platform.admin.post(f"/api/v1/datasets/{dataset_id}/classes/..hidden/images",
                                       files=files[:1]), 400, "invalid_label")
    empty = platform.new_dataset(name="empty")
    assert_problem(platform.admin.post(f"/api/v1/datasets/{empty}/classes/ok/images", files=files[:1]),
                   409, "dataset_empty")


def test_server_path_imports_only_for_admins_and_only_under_import_roots(platform, tmp_path):
    make_class_folders(platform.import_root / "steel", {"ok": 3, "ng": 3})
    outside = tmp_path / "outside"
    make_class_folders(outside, {"ok": 3, "ng": 3})
    (platform.import_root / "link").symlink_to(outside)
    dataset_id = platform.new_dataset()
    url = f"/api/v1/datasets/{dataset_id}/imports/server-path"
    assert_problem(platform.member.post(url, json={"path": str(platform.import_root / "steel")}), 403, "admin_only")
    for path in (str(outside), f"{platform.import_root}/../outside", str(platform.import_root / "link"), "steel"):
        response = platform.admin.post(url, json={"path": path})
        assert 400 <= response.status_code < 500, (path, response.text)
        assert assert_problem(response, response.status_code, "path_not_allowed")["detail"].find(path) >= 0
    assert_problem(platform.admin.post(url, json={"path": str(platform.import_root / "nope")}), 404)
    response = platform.admin.post(url, json={"path": str(platform.import_root / "steel")})
    assert response.status_code == 202, response.text
    job = wait_for_job(platform.admin.get, response.json()["id"])
    assert job["state"] == "succeeded" and job["result"]["image_count"] == 6
    assert platform.import_root.joinpath("steel", "ok").is_dir()  # the source is left as it was


def test_an_upload_without_content_length_is_cut_off_at_the_limit(platform):
    dataset_id = platform.new_dataset()

    def endless():
        yield b"PK\x03\x04"
        for _ in range(UPLOAD_LIMIT // 65536 + 2):
            yield b"\0" * 65536

    response = platform.admin.post(f"/api/v1/datasets/{dataset_id}/imports", content=endless(), headers=ZIP)
    assert_problem(response, 413, "upload_too_large")
    _nothing_stored(platform, dataset_id)
    assert platform.admin.get(f"/api/v1/datasets/{dataset_id}").json()["status"] == "empty"


def test_an_image_the_thumbnailer_cannot_decode_is_reported_not_dropped(platform, tmp_path, monkeypatch):
    from classmill.server.services import image_store

    real, failed = image_store.make_thumbnail, []

    def first_fails(source, dest, **kwargs):
        if not failed:
            failed.append(source)
            raise OSError("broken data stream")
        return real(source, dest, **kwargs)

    monkeypatch.setattr(image_store, "make_thumbnail", first_fails)
    # The patch lives in this process: run the import the route records here, not in a job process.
    state = getattr(platform.app.state, STATE_ATTRIBUTE)
    monkeypatch.setattr(state.executor, "submit", lambda job_id, attempt, kind: run_import(
        state.sessions, state.layout, job_id, attempt, threading.Event()))
    dataset_id = platform.new_dataset()
    job = _imported(platform.admin, dataset_id, class_zip(tmp_path, {"ok": 3, "ng": 3}).read_bytes())
    assert job["state"] == "succeeded" and job["result"]["image_count"] == 5, job
    report = platform.admin.get(f"/api/v1/datasets/{dataset_id}/report").json()["report"]
    errors = [p for p in report["errors"] if "file" in p]
    assert [(p["rule"], p["file"].split("/")[0]) for p in errors] in ([("undecodable", "ok")], [("undecodable", "ng")])
    assert "broken data stream" in errors[0]["message"] and errors[0]["fix"]
