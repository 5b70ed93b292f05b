"""The service applies per-class thresholds: the bundle's by default, or the ones it is created with
(what the platform does for a published model version), adding only `uncertain`/`threshold`."""

from __future__ import annotations

import io

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from classmill.infer import Predictor, write_bundle_thresholds
from classmill.serve import ServeSettings, create_app
from classmill.serve.deps import get_predictor
from classmill.serve.problems import install_problem_handlers
from classmill.serve.routes import info_router, prediction_router
from classmill.serve.state import STATE_ATTRIBUTE, ServeState

MURKY_RED = (160, 120, 40)  # answered "red" with ~0.79


@pytest.fixture(scope="module")
def images(colours):
    from support.colour_bundle import two_tone

    def png(top) -> bytes:
        buf = io.BytesIO()
        two_tone(top, colours["dark"]).save(buf, "PNG")
        return buf.getvalue()

    return {"murky.png": png(MURKY_RED), "red.png": png(colours["red"])}


@pytest.fixture(scope="module")
def strict_bundle(colour_bundle, tmp_path_factory):
    return write_bundle_thresholds(colour_bundle, {"red": 0.9}, tmp_path_factory.mktemp("t") / "strict.cmb").path


def _predict(client, images) -> dict[str, dict]:
    r = client.post("/predict", files=[("files", (name, data, "image/png")) for name, data in images.items()])
    assert r.status_code == 200, r.text
    return {item["filename"]: item for item in r.json()}


def test_the_bundle_thresholds_mark_answers_uncertain_and_add_only_two_fields(colour_bundle, strict_bundle, images):
    with TestClient(create_app(colour_bundle)) as plain_client:
        plain = _predict(plain_client, images)
        assert plain_client.get("/model").json()["thresholds"] == {}
    with TestClient(create_app(strict_bundle)) as client:
        strict = _predict(client, images)
        assert client.get("/model").json()["thresholds"] == {"red": 0.9}
    assert plain["murky.png"]["uncertain"] is False and "threshold" not in plain["murky.png"]
    assert (strict["murky.png"]["uncertain"], strict["murky.png"]["threshold"]) == (True, 0.9)
    assert (strict["red.png"]["uncertain"], strict["red.png"]["threshold"]) == (False, 0.9)
    for name in images:  # what clients read before thresholds existed is unchanged
        old_fields = {k: v for k, v in strict[name].items() if k not in ("uncertain", "threshold")}
        assert old_fields == {k: v for k, v in plain[name].items() if k != "uncertain"}


def test_thresholds_given_at_creation_replace_the_bundles(colour_bundle, strict_bundle, images):
    with TestClient(create_app(strict_bundle, thresholds={})) as client:
        assert "threshold" not in _predict(client, images)["murky.png"]
    with TestClient(create_app(colour_bundle, thresholds={"red": 0.999})) as client:
        answers = _predict(client, images)
        assert answers["murky.png"]["uncertain"] and answers["red.png"]["uncertain"]
        assert client.get("/model").json()["thresholds"] == {"red": 0.999}


def test_a_host_mounting_the_routers_serves_each_version_with_its_thresholds(colour_bundle, images):
    """The platform: one loaded model, two versions whose stored thresholds differ, no bundle rewritten."""
    model = Predictor.load(colour_bundle)
    versions = {"1": model.with_thresholds({"red": 0.5}), "2": model.with_thresholds({"red": 0.95})}
    host = FastAPI()
    setattr(host.state, STATE_ATTRIBUTE, ServeState(ServeSettings(batch_window_ms=1)))
    install_problem_handlers(host)
    host.include_router(prediction_router, prefix="/versions/{version}")
    host.include_router(info_router, prefix="/versions/{version}")
    host.dependency_overrides[get_predictor] = lambda version: versions[version]
    with TestClient(host) as client:
        v1 = client.post("/versions/1/predict", files={"files": ("m.png", images["murky.png"])}).json()[0]
        v2 = client.post("/versions/2/predict", files={"files": ("m.png", images["murky.png"])}).json()[0]
        assert (v1["uncertain"], v1["threshold"]) == (False, 0.5)
        assert (v2["uncertain"], v2["threshold"]) == (True, 0.95)
        assert v1["top_k"] == v2["top_k"]
        assert client.get("/versions/2/model").json()["thresholds"] == {"red": 0.95}


def test_the_docs_page_documents_the_uncertain_answer(colour_bundle):
    with TestClient(create_app(colour_bundle)) as client:
        schema = client.get("/openapi.json").json()
        fields = schema["components"]["schemas"]["PredictionOut"]["properties"]
        assert {"uncertain", "threshold"} <= set(fields) and "below the threshold" in fields["uncertain"]["description"]
        assert "uncertain: true" in client.get("/docs").text
