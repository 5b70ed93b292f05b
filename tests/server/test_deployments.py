"""Published endpoints: publish a model version under a name, call /serve/{name}/... with a token or a
login, get exactly what `classmill serve` answers on the same bundle, unpublish, and read the request
statistics (counted in memory, written now and then and at shutdown).

SQLite and PostgreSQL (the `settings` fixture). Model versions are rows over the colour bundle
(support/server_models.py), so no test trains.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from classmill.serve import ServeSettings
from classmill.serve import create_app as create_serve_app
from classmill.server.app import create_app
from classmill.server.db.deployments import Endpoint
from classmill.server.state import STATE_ATTRIBUTE
from support.colour_bundle import COLOURS, build_colour_bundle, two_tone
from support.images import SHARED_DATASETS, noise
from support.server_accounts import assert_problem
from support.server_models import add_model_version
from support.server_world import make_world
from support.training import wait_for

# Limits small enough to trip with tiny files, large enough for 40x40 test images and 300x300 casting photos.
SERVE_LIMITS = {"max_megapixels": 0.1, "max_upload_mb": 0.5, "max_batch_files": 3, "batch_window_ms": 1}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_colour_bundle(tmp_path_factory.mktemp("bundle") / "colour.cmb")


@pytest.fixture
def settings(settings):
    # Flushed only when a test says so (or at shutdown): the tests see what is in memory and what is written.
    return settings.model_copy(update={"endpoint_stats_flush_s": 3600.0})


@pytest.fixture
def app(settings):
    return create_app(settings, serve_settings=ServeSettings(**SERVE_LIMITS))


@pytest.fixture
def world(client, new_client, app, settings):
    w = make_world(client, new_client, app, settings)
    yield w
    w.db.close()


def _project(world, owner: str = "alice") -> int:
    dataset, _, _ = world.dataset(owner, f"{owner}-parts", [("a", None, "a/0.png"), ("b", None, "b/1.png")])
    made = getattr(world, owner).post("/api/v1/projects", json={"name": "parts", "dataset_id": dataset.id})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _token_client(new_client, owner_client) -> TestClient:
    """A client that sends only `owner_client`'s user's new API token (no cookie)."""
    made = owner_client.post("/api/v1/tokens", json={"name": "serving"})
    assert made.status_code == 201, made.text
    api = new_client()
    api.headers["Authorization"] = f"Bearer {made.json()['token']}"
    return api


def _published(world, settings, bundle, name: str = "colours", **version_options) -> tuple[dict, int]:
    project = _project(world)
    version = add_model_version(world.db, settings.workspace, project, bundle, **version_options)
    made = world.alice.post("/api/v1/endpoints", json={"model_version_id": version.id, "name": name})
    assert made.status_code == 201, made.text
    return made.json(), version.id


def _png(top: str, bottom: str = "dark", size=(40, 40)) -> bytes:
    buffer = io.BytesIO()
    two_tone(COLOURS[top], COLOURS[bottom], size).save(buffer, format="PNG")
    return buffer.getvalue()


def _casting_jpegs(count: int = 2) -> list[tuple[str, bytes]]:
    paths = sorted((SHARED_DATASETS / "casting").rglob("*.jpeg"))[:count]
    assert len(paths) == count, "the shared casting dataset is missing"
    return [(p.name, p.read_bytes()) for p in paths]


def test_a_published_version_answers_with_a_token_and_a_login_and_not_without(world, settings, bundle, new_client):
    endpoint, _ = _published(world, settings, bundle)
    assert endpoint["url"] == "http://testserver/serve/colours/predict"
    assert endpoint["curl"] == ('curl -H "Authorization: Bearer <YOUR_TOKEN>" -F "files=@image.jpg" '
                                "http://testserver/serve/colours/predict")
    assert endpoint["request_count"] == 0 and endpoint["mean_latency_ms"] is None

    api = _token_client(new_client, world.alice)
    answer = api.post("/serve/colours/predict", files=[("files", ("g.png", _png("green"), "image/png")),
                                                       ("files", ("b.png", _png("blue"), "image/png"))])
    assert answer.status_code == 200, answer.text
    assert [(item["filename"], item["label"]) for item in answer.json()] == [("g.png", "green"), ("b.png", "blue")]
    assert api.get("/serve/colours/model").json()["labels"] == ["red", "green", "blue", "dark"]

    anonymous = new_client()
    refused = assert_problem(anonymous.post("/serve/colours/predict", files={"files": ("r.png", _png("red"))}),
                             401, "not_authenticated")
    assert "Bearer" in refused["fix"]
    assert_problem(anonymous.get("/serve/colours/health"), 401)
    anonymous.headers["Authorization"] = "Bearer cm_not-a-token"
    assert_problem(anonymous.post("/serve/colours/predict", files={"files": ("r.png", _png("red"))}), 401,
                   "invalid_token")

    # a logged-in browser: the cookie, and the CSRF token for the POST
    assert world.alice.post("/serve/colours/predict", files={"file": ("r.png", _png("red"))}).json()[0]["label"] == "red"
    no_csrf = world.alice.post("/serve/colours/predict", files={"file": ("r.png", _png("red"))},
                               headers={"X-CSRF-Token": ""})
    assert_problem(no_csrf, 403, "csrf_failed")


def test_a_published_endpoint_answers_exactly_as_classmill_serve(world, settings, bundle, new_client):
    """The same requests to `classmill serve` (its app factory, same bundle and limits) and to the platform
    endpoint: the same status, type and body, for answers and for every kind of refusal."""
    _published(world, settings, bundle)
    api = _token_client(new_client, world.alice)
    casting = _casting_jpegs()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("top/red.png", _png("red"))
        for name, data in casting:
            zf.writestr(f"casting/{name}", data)
        zf.writestr("notes.txt", b"not an image")
    big = io.BytesIO()
    noise((500, 500), seed=1).save(big, format="PNG")  # ~750 KB: over max_upload_mb
    many_pixels = io.BytesIO()
    Image.new("RGB", (400, 400), (200, 10, 10)).save(many_pixels, format="PNG")  # 0.16 MP: over max_megapixels
    jpegs = [("files", (name, data, "image/jpeg")) for name, data in casting]
    png = "image/png"
    requests = [  # (method, path, request, the status and error code both must answer)
        ("post", "/predict", {"files": [*jpegs, ("files", ("g.png", _png("green", "red"), png))]}, (200, None)),
        ("post", "/predict?top_k=2&render=true", {"files": [("file", ("b.png", _png("blue"), png))]}, (200, None)),
        ("post", "/predict/image", {"files": [("file", (casting[0][0], casting[0][1], "image/jpeg"))]}, (200, None)),
        ("post", "/predict/batch?top_k=3", {"files": [("file", ("images.zip", archive.getvalue(), "application/zip"))]},
         (200, None)),
        ("post", "/predict/batch", {"files": [("file", ("fake.zip", b"PK not really", "application/zip"))]},
         (400, "bad_zip")),
        ("post", "/predict", {"files": [("files", ("empty.png", b"", png))]}, (422, "empty_file")),
        ("post", "/predict", {"files": [("files", ("x.png", b"hello", png))]}, (415, "not_an_image")),
        ("post", "/predict", {"files": [("files", ("big.png", big.getvalue(), png))]}, (413, "file_too_large")),
        ("post", "/predict", {"files": [("files", ("huge.png", many_pixels.getvalue(), png))]},
         (422, "too_many_pixels")),
        ("post", "/predict", {"files": [("files", (f"{i}.png", _png("red"), png)) for i in range(4)]},
         (413, "too_many_files")),
        ("post", "/predict", {"files": [("photo", ("r.png", _png("red"), png))]}, (422, "invalid_request")),
        ("post", "/predict?top_k=0", {"files": [("files", ("r.png", _png("red"), png))]}, (422, "invalid_request")),
        ("post", "/predict", {"content": b"x" * (3 * 1024 * 1024),
                              "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
         (413, "request_too_large")),
        ("get", "/model", {}, (200, None)),
    ]
    with TestClient(create_serve_app(bundle, **SERVE_LIMITS)) as standalone:
        for method, path, options, (status, code) in requests:
            ours = getattr(api, method)(f"/serve/colours{path}", **options)
            theirs = getattr(standalone, method)(path, **options)
            assert theirs.status_code == status and (code is None or theirs.json()["code"] == code), \
                (path, theirs.text[:300])
            assert (ours.status_code, ours.headers["content-type"]) == \
                (theirs.status_code, theirs.headers["content-type"]), (path, ours.text[:300], theirs.text[:300])
            if "json" in theirs.headers["content-type"]:
                assert ours.json() == theirs.json(), path
            else:
                assert ours.content == theirs.content, path
            for header in ("x-classmill-images", "x-classmill-errors", "content-disposition"):
                assert ours.headers.get(header) == theirs.headers.get(header), (path, header)


def test_endpoint_names_are_checked_and_unique(world, settings, bundle):
    project = _project(world)
    version = add_model_version(world.db, settings.workspace, project, bundle)
    for bad in ("ab", "Colours", "my endpoint", "a" * 65, "über", "../x", "a/b", "x\x00y"):
        problem = assert_problem(world.alice.post("/api/v1/endpoints", json={"model_version_id": version.id,
                                                                             "name": bad}), 422,
                                 "invalid_endpoint_name")
        assert "lowercase letters, digits and '-'" in problem["fix"]
    assert "e.g. 'my-endpoint'" in world.alice.post("/api/v1/endpoints", json={
        "model_version_id": version.id, "name": "My Endpoint"}).json()["fix"]
    assert world.alice.post("/api/v1/endpoints", json={"model_version_id": version.id,
                                                       "name": "line-1"}).status_code == 201
    other = add_model_version(world.db, settings.workspace, project, bundle)
    taken = assert_problem(world.alice.post("/api/v1/endpoints", json={"model_version_id": other.id,
                                                                       "name": "line-1"}), 409, "endpoint_name_taken")
    assert "'line-1-2'" in taken["fix"] and "unpublish" in taken["fix"]
    assert world.alice.get("/api/v1/endpoints").json()["total"] == 1


def test_unknown_and_unpublished_endpoints_are_404_and_a_served_version_cannot_be_deleted(
        world, settings, bundle, new_client, app):
    endpoint, version_id = _published(world, settings, bundle)
    api = _token_client(new_client, world.alice)
    missing = assert_problem(api.post("/serve/nothing-here/predict", files={"files": ("r.png", _png("red"))}), 404,
                             "endpoint_not_found")
    assert "GET /api/v1/endpoints" in missing["fix"]
    assert_problem(api.get("/serve/NOT_A_NAME/health"), 404, "endpoint_not_found")
    assert api.post("/serve/colours/predict", files={"files": ("r.png", _png("red"))}).status_code == 200
    runtime = getattr(app.state, STATE_ATTRIBUTE).serving
    assert runtime.models.loaded() == ["colours"]

    assert_problem(world.alice.delete(f"/api/v1/models/{version_id}"), 409, "model_in_use")
    assert world.alice.delete(f"/api/v1/endpoints/{endpoint['id']}").status_code == 204
    assert runtime.models.loaded() == []  # unloaded with the endpoint
    assert_problem(api.post("/serve/colours/predict", files={"files": ("r.png", _png("red"))}), 404,
                   "endpoint_not_found")
    assert_problem(world.alice.get(f"/api/v1/endpoints/{endpoint['id']}"), 404, "endpoint_not_found")
    assert_problem(world.alice.delete(f"/api/v1/endpoints/{endpoint['id']}"), 404, "endpoint_not_found")
    assert world.alice.delete(f"/api/v1/models/{version_id}").status_code == 204
    assert_problem(world.alice.post("/api/v1/endpoints", json={"model_version_id": version_id, "name": "colours"}),
                   404, "model_not_found")


def test_a_version_without_its_bundle_is_not_published(world, settings, bundle):
    project = _project(world)
    version = add_model_version(world.db, settings.workspace, project, bundle)
    (settings.workspace / version.folder / "model.cmb").unlink()
    problem = assert_problem(world.alice.post("/api/v1/endpoints", json={"model_version_id": version.id,
                                                                         "name": "colours"}), 409, "bundle_missing")
    assert "model.cmb" in problem["detail"]
    assert world.alice.get("/api/v1/endpoints").json()["total"] == 0


def test_another_users_model_and_endpoint_do_not_exist_for_them_until_shared(world, settings, bundle, new_client):
    endpoint, version_id = _published(world, settings, bundle)
    bob_api = _token_client(new_client, world.bob)
    assert_problem(world.bob.post("/api/v1/endpoints", json={"model_version_id": version_id, "name": "mine"}), 404,
                   "model_not_found")
    assert_problem(bob_api.post("/serve/colours/predict", files={"files": ("r.png", _png("red"))}), 404,
                   "endpoint_not_found")
    assert_problem(world.bob.get(f"/api/v1/endpoints/{endpoint['id']}"), 404, "endpoint_not_found")
    assert_problem(world.bob.delete(f"/api/v1/endpoints/{endpoint['id']}"), 404, "endpoint_not_found")
    assert world.bob.get("/api/v1/endpoints").json() == {"items": [], "total": 0, "limit": 50, "offset": 0}

    shared = world.alice.post(f"/api/v1/projects/{endpoint['project_id']}/shares",
                              json={"username": "bob", "permission": "read"})
    assert shared.status_code == 201, shared.text
    assert bob_api.post("/serve/colours/predict", files={"files": ("r.png", _png("red"))}).status_code == 200
    assert [e["name"] for e in world.bob.get("/api/v1/endpoints").json()["items"]] == ["colours"]
    assert_problem(world.bob.delete(f"/api/v1/endpoints/{endpoint['id']}"), 403, "read_only_share")
    assert_problem(world.bob.post("/api/v1/endpoints", json={"model_version_id": version_id, "name": "mine"}), 403,
                   "read_only_share")


def _written(world, endpoint_id: int) -> Endpoint:
    """The endpoint's row as the database has it now (a new transaction: no earlier snapshot)."""
    world.db.rollback()
    return world.db.get(Endpoint, endpoint_id, populate_existing=True)


def test_requests_are_counted_in_memory_and_written_at_a_flush(world, settings, bundle, new_client, app):
    endpoint, _ = _published(world, settings, bundle)
    api = _token_client(new_client, world.alice)
    for colour in ("red", "green"):
        assert api.post("/serve/colours/predict", files={"files": ("x.png", _png(colour))}).status_code == 200
    assert api.post("/serve/colours/predict", files={"files": ("empty.png", b"")}).status_code == 422
    assert api.get("/serve/colours/health").status_code == 200  # not a prediction: not counted

    live = world.alice.get(f"/api/v1/endpoints/{endpoint['id']}").json()
    assert (live["request_count"], live["error_count"]) == (3, 1)
    assert 0 < live["latency_p50_ms"] <= live["latency_p99_ms"] and live["mean_latency_ms"] > 0
    assert live["last_request_at"] is not None
    assert _written(world, endpoint["id"]).request_count == 0  # nothing written per request

    state = getattr(app.state, STATE_ATTRIBUTE)
    state.serving.flush_stats(state.sessions)
    row = _written(world, endpoint["id"])
    assert (row.request_count, row.error_count) == (3, 1)
    assert row.latency_ms_sum == pytest.approx(live["mean_latency_ms"] * 3, rel=1e-3)
    assert row.latency_p99_ms == live["latency_p99_ms"] and row.last_request_at is not None
    after = world.alice.get(f"/api/v1/endpoints/{endpoint['id']}").json()
    assert (after["request_count"], after["error_count"]) == (3, 1)  # the written totals, not counted twice
    listed = world.alice.get("/api/v1/endpoints").json()["items"]
    assert [(e["name"], e["request_count"]) for e in listed] == [("colours", 3)]


def test_counts_are_written_every_few_seconds_and_at_shutdown(world, settings, bundle, new_client):
    endpoint, _ = _published(world, settings, bundle)
    token = world.alice.post("/api/v1/tokens", json={"name": "s"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def written() -> int:
        return _written(world, endpoint["id"]).request_count

    often = create_app(settings.model_copy(update={"endpoint_stats_flush_s": 0.1}),
                       serve_settings=ServeSettings(**SERVE_LIMITS))
    with TestClient(often, headers=headers) as api:
        assert api.post("/serve/colours/predict", files={"files": ("r.png", _png("red"))}).status_code == 200
        assert wait_for(lambda: written() == 1, timeout=20)
    rarely = create_app(settings, serve_settings=ServeSettings(**SERVE_LIMITS))  # flush_s = 3600
    with TestClient(rarely, headers=headers) as api:
        for _ in range(2):
            assert api.post("/serve/colours/predict", files={"files": ("r.png", _png("red"))}).status_code == 200
        assert written() == 1
    assert written() == 3  # the shutdown wrote the last two


def test_a_threshold_change_reloads_the_model_and_loaded_models_are_bounded(world, settings, bundle, new_client):
    small = create_app(settings.model_copy(update={"endpoint_models": 2}), serve_settings=ServeSettings(**SERVE_LIMITS))
    project = _project(world)
    names = ("one-1", "two-2", "three-3")
    versions = []
    for name in names:
        versions.append(add_model_version(world.db, settings.workspace, project, bundle))
        assert world.alice.post("/api/v1/endpoints", json={"model_version_id": versions[-1].id,
                                                           "name": name}).status_code == 201
    token = world.alice.post("/api/v1/tokens", json={"name": "s"}).json()["token"]
    models = getattr(small.state, STATE_ATTRIBUTE).serving.models
    with TestClient(small, headers={"Authorization": f"Bearer {token}"}) as api:
        def predict(name: str) -> str:
            answer = api.post(f"/serve/{name}/predict", files={"files": ("b.png", _png("blue"))})
            assert answer.status_code == 200, answer.text
            return answer.json()[0]["label"]

        assert [predict(name) for name in names] == ["blue"] * 3
        assert models.loaded() == ["two-2", "three-3"] and models.loads == 3  # the least recently used went
        predict("two-2")
        assert models.loads == 3  # reused
        changed = world.alice.put(f"/api/v1/models/{versions[1].id}/thresholds", json={"thresholds": {"blue": 0.9}})
        assert changed.status_code == 200, changed.text
        predict("two-2")
        assert models.loads == 4 and models.loaded() == ["three-3", "two-2"]
