"""The service's pieces on their own: routers mounted elsewhere with another predictor, settings from
the environment, the `file` field curl users send, the pixel limit and the bounded decode pool."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from classmill.errors import ConfigError
from classmill.infer import Predictor
from classmill.serve import ServeSettings, create_app, load_settings
from classmill.serve.deps import get_predictor
from classmill.serve.problems import ApiProblem, install_problem_handlers
from classmill.serve.routes import info_router, prediction_router
from classmill.serve.state import STATE_ATTRIBUTE, ServeState


def _png(image_bytes, colour: str) -> tuple[str, bytes, str]:
    return (f"{colour}.png", image_bytes(colour), "image/png")


def test_prediction_router_mounts_under_a_prefix_with_a_predictor_chosen_by_path(colour_bundle, image_bytes):
    """What the platform will do: one router, many published models, its own get_predictor."""
    models = {"colours-v1": Predictor.load(colour_bundle), "colours-v2": Predictor.load(colour_bundle)}

    def predictor_by_name(model: str) -> Predictor:
        if model not in models:
            raise ApiProblem(404, "no_such_model", f"no published model {model!r}.", "Check the model name.")
        return models[model]

    host = FastAPI()
    setattr(host.state, STATE_ATTRIBUTE, ServeState(ServeSettings(batch_window_ms=1)))
    install_problem_handlers(host)
    host.include_router(prediction_router, prefix="/models/{model}")
    host.include_router(info_router, prefix="/models/{model}")
    host.dependency_overrides[get_predictor] = predictor_by_name
    with TestClient(host) as client:
        r = client.post("/models/colours-v2/predict", files={"files": _png(image_bytes, "green")})
        assert r.status_code == 200, r.text
        assert r.json()[0]["label"] == "green"
        assert client.get("/models/colours-v2/health").json()["batching"]["images"] == 1
        assert client.get("/models/colours-v1/health").json()["batching"]["images"] == 0  # a batcher per model
        missing = client.post("/models/nope/predict", files={"files": _png(image_bytes, "red")})
        assert missing.status_code == 404 and missing.json()["code"] == "no_such_model"
        assert "/models/{model}/predict" in client.get("/openapi.json").json()["paths"]


def test_limits_come_from_classmill_serve_environment_variables(colour_bundle, image_bytes, monkeypatch):
    monkeypatch.setenv("CLASSMILL_SERVE_MAX_BATCH_FILES", "2")
    monkeypatch.setenv("CLASSMILL_SERVE_MAX_CONCURRENT_DECODES", "3")
    assert load_settings().max_batch_files == 2 and load_settings(max_batch_files=5).max_batch_files == 5
    with TestClient(create_app(colour_bundle)) as client:
        r = client.post("/predict", files=[("files", _png(image_bytes, c)) for c in ("red", "green", "blue")])
        assert r.status_code == 413 and r.json()["code"] == "too_many_files"
        assert "at most 2" in r.json()["detail"]
    monkeypatch.setenv("CLASSMILL_SERVE_MAX_MEGAPIXELS", "-1")
    with pytest.raises(ConfigError, match="CLASSMILL_SERVE_MAX_MEGAPIXELS"):
        create_app(colour_bundle)
    with pytest.raises(ConfigError, match="max_upload_mb"):
        load_settings(max_upload_mb=0, max_megapixels=1)


def test_the_curl_field_name_file_works_on_predict(live_server, image_bytes):
    """`curl -F file=@x.jpg URL/predict` (singular) used to get a 422."""
    r = httpx.post(f"{live_server}/predict", files={"file": _png(image_bytes, "blue")}, timeout=30)
    assert r.status_code == 200, r.text
    assert [(i["filename"], i["label"]) for i in r.json()] == [("blue.png", "blue")]
    both = httpx.post(f"{live_server}/predict", timeout=30,
                      files=[("files", _png(image_bytes, "red")), ("file", _png(image_bytes, "green"))])
    assert [i["label"] for i in both.json()] == ["red", "green"]
    none = httpx.post(f"{live_server}/predict", files={"image": _png(image_bytes, "red")}, timeout=30)
    assert none.status_code == 422 and none.json()["code"] == "invalid_request" and "'files'" in none.json()["detail"]


def test_an_image_over_the_pixel_limit_is_422_naming_it(colour_bundle, image_bytes):
    # The test images are 40x40 = 1,600 px: a 0.001 MP limit refuses them.
    with TestClient(create_app(colour_bundle, max_megapixels=0.001)) as client:
        r = client.post("/predict", files=[("files", ("big.png", image_bytes("red"), "image/png"))])
        assert r.status_code == 422
        body = r.json()
        assert body["code"] == "too_many_pixels" and body["filename"] == "big.png"
        assert "'big.png' is 40x40 px" in body["detail"] and "0.001 megapixels" in body["detail"]
        assert "Resize" in body["fix"]


class _SlowCountingPredictor:
    """The real predictor, with a decode that takes a while and records how many run at once."""

    def __init__(self, real: Predictor) -> None:
        self._real = real
        self._lock = threading.Lock()
        self.running = self.most = 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def decode(self, image, name=None):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        try:
            return self._real.decode(image, name=name)
        finally:
            with self._lock:
                self.running -= 1


def test_decodes_are_bounded_across_files_and_requests(colour_bundle, image_bytes):
    app = create_app(colour_bundle, max_concurrent_decodes=2, batch_window_ms=1)
    counting = _SlowCountingPredictor(app.state.predictor)
    app.dependency_overrides[get_predictor] = lambda: counting
    statuses: list[int] = []
    with TestClient(app) as client:
        def post() -> None:
            r = client.post("/predict", files=[("files", _png(image_bytes, "red")) for _ in range(6)])
            statuses.append(r.status_code)

        threads = [threading.Thread(target=post) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert statuses == [200, 200, 200]
    assert counting.most == 2, f"{counting.most} decodes ran at once with max_concurrent_decodes=2"
