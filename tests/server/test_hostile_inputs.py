"""Hostile inputs at the edge of the server: out-of-range numbers, missing stored files, oversized bodies.

Each answer is the one 4xx shape (never a 500), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re

import pytest

from classmill.server.api.uploads import MAX_JSON_BYTES
from classmill.server.store.thumbnails import thumbnail_path
from support.server_accounts import assert_problem, set_up_admin
from support.server_imports import class_zip, wait_for_job
from support.server_platform import UPLOAD_LIMIT, platform  # noqa: F401 - fixture
from support.server_world import make_world

HUGE = 10**20  # past int64: SQLite cannot bind it
PAST_INT32 = 2**31  # past PostgreSQL's integer columns


@pytest.fixture
def world(client, new_client, app, settings):
    w = make_world(client, new_client, app, settings)
    yield w
    w.db.close()


@pytest.mark.parametrize("number", [HUGE, PAST_INT32])
def test_ids_and_offsets_out_of_the_databases_range_answer_422_not_500(world, number):
    dataset, _, _ = world.dataset("alice", "pets", [("cat", None, "a.png")])
    base = f"/api/v1/datasets/{dataset.id}"
    for url in [f"/api/v1/datasets/{number}", f"/api/v1/jobs/{number}", f"/api/v1/projects?dataset_id={number}",
                f"/api/v1/datasets?offset={number}", f"{base}/versions/{number}",
                f"{base}/versions/1/diff?from={number}", f"{base}/versions?offset={number}"]:
        assert_problem(world.alice.get(url), 422, "invalid_request")
    for url in [f"/api/v1/projects/{number}", f"/api/v1/tokens/{number}", f"/api/v1/datasets/{number}/shares/bob"]:
        assert_problem(world.alice.delete(url), 422, "invalid_request")
    merge = world.alice.post(f"{base}/versions/1/merge", json={"source_dataset_id": number, "source_version": 1})
    assert_problem(merge, 422, "invalid_request")
    project = world.alice.post("/api/v1/projects", json={"name": "p", "dataset_id": number})
    assert_problem(project, 422, "invalid_request")


def test_admin_user_ids_out_of_range_answer_422(client):
    csrf = set_up_admin(client)
    assert_problem(client.post(f"/api/v1/users/{HUGE}/disable", headers={"X-CSRF-Token": csrf}), 422, "invalid_request")


def test_a_stored_file_missing_from_the_store_is_a_clear_error_not_a_500(world):
    dataset, _, hashes = world.dataset("alice", "pets", [("cat", "train", "a.png"), ("dog", None, "b.png")])
    world.store.blobs.path(hashes[0]).unlink()  # the store lost it (a disk restored without it, a hand delete)
    thumbnail_path(world.store.thumbnails, hashes[0]).unlink()
    for url in [f"/api/v1/images/{hashes[0]}", f"/api/v1/images/{hashes[0]}/thumbnail",
                f"/api/v1/datasets/{dataset.id}/versions/1/export"]:
        body = assert_problem(world.alice.get(url), 404, "stored_file_missing")
        assert hashes[0] in body["detail"]
    assert list(world.store.scratch.glob("export-*")) == []  # the half-written export is gone
    assert world.alice.get(f"/api/v1/images/{hashes[1]}").status_code == 200


def test_a_json_body_over_the_limit_is_refused_while_it_streams_even_before_login(client):

    def endless():  # no Content-Length: only counting while reading can stop it
        yield b'{"username": "'
        for _ in range(MAX_JSON_BYTES // 65536 + 2):
            yield b"a" * 65536
        yield b'", "password": "x"}'

    response = client.post("/api/v1/auth/login", content=endless(), headers={"Content-Type": "application/json"})
    assert_problem(response, 413, "request_too_large")
    declared = client.post("/api/v1/setup", content=b"{}", headers={"Content-Type": "application/json",
                                                                     "Content-Length": str(MAX_JSON_BYTES + 1)})
    assert_problem(declared, 413, "request_too_large")


def test_a_multipart_upload_longer_than_its_content_length_is_cut_off_at_the_upload_limit(platform, tmp_path):
    dataset_id = platform.new_dataset()
    first = platform.admin.post(f"/api/v1/datasets/{dataset_id}/imports",
                                content=class_zip(tmp_path, {"cat": 2, "dog": 2}).read_bytes(), headers={"Content-Type": "application/zip"})
    assert first.status_code == 202, first.text
    wait_for_job(platform.admin.get, first.json()["id"])
    boundary = "b0undary"
    big = b"\xff" * (UPLOAD_LIMIT + 100_000)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + big + f"\r\n--{boundary}--\r\n".encode()
    response = platform.admin.post(f"/api/v1/datasets/{dataset_id}/classes/cat/images", content=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": "1000"})  # a lie
    assert_problem(response, 413)
    assert platform.staging_entries() == []


def test_every_unsafe_route_refuses_a_login_cookie_without_the_csrf_token(app, client):
    from classmill.server.api.routes import PUBLIC_ROUTES
    from test_routes_need_credentials import _every_route

    set_up_admin(client)  # the client now holds the admin's login cookies, and sends no X-CSRF-Token
    from classmill.server.api.problems import SERVE_PREFIX
    from classmill.server.api.routes import API_PREFIX

    # the API and the published endpoints; the web pages' forms have their own CSRF test (tests/server/web)
    unsafe = [(m, p) for m, p in _every_route(app) if m in ("POST", "PUT", "PATCH", "DELETE")
              and p.startswith((API_PREFIX, SERVE_PREFIX))]
    assert len(unsafe) >= 20
    for method, path in unsafe:
        if (method, path) in PUBLIC_ROUTES:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        assert_problem(client.request(method, url, json={}), 403, "csrf_failed")
    assert client.get("/api/v1/me").status_code == 200  # the cookie itself works


def test_an_export_cut_off_while_it_is_sent_still_deletes_its_temp_file(tmp_path):
    import anyio

    from classmill.server.api.routes.versions import TempFileResponse

    path = tmp_path / "export-1.zip"
    path.write_bytes(b"PK" + b"\0" * 300_000)
    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.4"}}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.body":
            raise OSError("the client went away")

    async def serve():
        with pytest.raises(OSError):
            await TempFileResponse(path, media_type="application/zip")(scope, receive, send)

    anyio.run(serve)
    assert not path.exists()


def test_exports_left_by_a_server_that_died_are_removed_at_start(settings):
    import os

    from fastapi.testclient import TestClient

    from classmill.server.app import create_app
    from classmill.server.store.layout import StoreLayout

    scratch = StoreLayout(settings.workspace).scratch
    scratch.mkdir(parents=True)
    dead = scratch / "export-999999999-abc.zip"  # no such process: the server that wrote it is gone
    live = scratch / f"export-{os.getppid()}-def.zip"  # a live process (another server) may still send it
    other = scratch / "notes.txt"
    for path in (dead, live, other):
        path.write_bytes(b"PK")
    with TestClient(create_app(settings)):
        pass
    assert not dead.exists() and live.exists() and other.exists()


def test_a_nul_character_in_a_name_or_filter_is_never_a_500(world, settings):
    dataset, _, hashes = world.dataset("alice", "pets", [("cat", "train", "a.png")])
    answers = [world.alice.post("/api/v1/datasets", json={"name": "bad\u0000name"}),
               world.alice.post("/api/v1/tokens", json={"name": "\u0000"}),
               world.alice.post(f"/api/v1/datasets/{dataset.id}/shares", json={"username": "b\u0000b",
                                                                               "permission": "read"}),
               world.alice.get(f"/api/v1/datasets/{dataset.id}/versions/1/images", params={"search": "a\u0000"}),
               world.alice.get(f"/api/v1/datasets/{dataset.id}/versions/1/images", params={"label": "\u0000"}),
               world.alice.get(f"/api/v1/images/{hashes[0]}%00")]
    postgresql = settings.database_url.startswith("postgresql")
    for response in answers:
        assert response.status_code < 500, response.text
        if postgresql:  # PostgreSQL text cannot hold NUL: the value is refused, in the one error shape
            assert_problem(response, 422, "invalid_value")


def test_a_server_path_with_a_nul_character_is_refused_not_a_500(platform):
    dataset_id = platform.new_dataset()
    response = platform.admin.post(f"/api/v1/datasets/{dataset_id}/imports/server-path",
                                   json={"path": f"{platform.import_root}/steel\u0000/ok"})
    assert_problem(response, 400, "path_not_allowed")
    assert platform.admin.get(f"/api/v1/datasets/{dataset_id}").json()["status"] == "empty"


def test_a_very_long_upload_file_name_does_not_fail_the_import(platform, tmp_path):
    from support.server_imports import small_jpegs

    dataset_id = platform.new_dataset()
    first = platform.admin.post(f"/api/v1/datasets/{dataset_id}/imports",
                                content=class_zip(tmp_path, {"cat": 2, "dog": 2}).read_bytes(),
                                headers={"Content-Type": "application/zip"})
    assert wait_for_job(platform.admin.get, first.json()["id"])["state"] == "succeeded"
    long_name = "dir/" + "n" * 3000 + ".jpg"  # kept whole in the job's params, cut to 1000 (losing .jpg) after
    response = platform.admin.post(f"/api/v1/datasets/{dataset_id}/classes/cat/images",
                                   files=[("files", (long_name, small_jpegs(1, seed=5)[0], "image/jpeg"))])
    assert response.status_code == 202, response.text
    job = wait_for_job(platform.admin.get, response.json()["id"])
    assert job["state"] == "succeeded", job
    names = [i["original_name"] for i in platform.admin.get(
        f"/api/v1/datasets/{dataset_id}/versions/2/images").json()["items"]]
    assert any(name.startswith("nnnn") and name.endswith(".jpg") and len(name) <= 255 for name in names), names


def test_every_page_form_refuses_a_login_cookie_without_the_csrf_token(app, client):
    from classmill.server.api.problems import SERVE_PREFIX
    from classmill.server.api.routes import API_PREFIX
    from classmill.server.web import PUBLIC_PAGES
    from test_routes_need_credentials import _every_route

    set_up_admin(client)  # the login cookie, and no csrf_token field in any form below
    forms = [(m, p) for m, p in _every_route(app) if m in ("POST", "PUT", "PATCH", "DELETE")
             and not p.startswith((API_PREFIX, SERVE_PREFIX)) and (m, p) not in PUBLIC_PAGES]
    assert len(forms) >= 10
    for method, path in forms:
        url = re.sub(r"\{[^}]+\}", "1", path)
        answer = client.request(method, url, data={"name": "forged"}, follow_redirects=False)
        assert answer.status_code == 403, (method, path, answer.status_code)
