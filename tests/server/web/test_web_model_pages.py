"""Model version pages without a browser: who may see them, a version without a report, comparing two
hand-made versions, and the deploy page's forms (publish, a refused name, CSRF, unpublish).

The pages' live parts (thresholds, tests) are the JSON API's, tested with it; the browser journey is
tests/e2e/test_web_models.py.
"""

from __future__ import annotations

import html
import re

import pytest

from classmill.evaluate.report import build_report
from classmill.server.db.training import ModelVersion
from classmill.server.services import projects
from support.model_versions import make_model_version
from support.server_datasets import make_dataset, user_named
from support.server_models import add_model_version
from support.web_pages import error_of, flash_of, log_in_browser, set_up_in_browser

CLASSES = ["猫", "dog"]
LABELS = ["猫", "猫", "dog", "dog"]
PROBS_A = [[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]]  # right, wrong, right, wrong
PROBS_B = [[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.7, 0.3]]  # unchanged, fixed, broken, unchanged


@pytest.fixture
def owned(app, client, settings):
    """The admin's dataset (4 val images), a project on it, two hand-made versions and a colour bundle one."""
    csrf = set_up_in_browser(client)
    state = app.state.classmill
    with state.sessions() as session:
        admin = user_named(session, "admin")
        images = [(label, "val", f"{label}/{i}.png") for i, label in enumerate(LABELS)]
        dataset, version, hashes = make_dataset(session, state.layout, admin, "宠物 pets", images)
        project = projects.create_project(session, admin, "宠物 pets", dataset.id)
        made = [make_model_version(session, settings.workspace, project.id, version.id, CLASSES,
                                   list(zip(hashes, LABELS, probs)), metrics={"val": {"accuracy": accuracy}})
                for probs, accuracy in ((PROBS_A, 0.5), (PROBS_B, 0.5))]
        colour = add_model_version(session, settings.workspace, project.id)
        return {"csrf": csrf, "project": project.id, "a": made[0].id, "b": made[1].id, "colour": colour.id}


def _text(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_a_version_without_a_report_and_who_may_see_the_pages(owned, client, new_client):
    colour = owned["colour"]
    page = client.get(f"/models/{colour}")
    assert page.status_code == 200
    text = _text(page)
    assert "This version has no evaluation report" in text
    assert re.search(r'<nav class="breadcrumbs".*宠物 pets.*colour test.*Model v3', page.text, re.S)
    assert f'href="/api/v1/models/{colour}/files/model.cmb"' in page.text
    assert f'href="/api/v1/models/{colour}/sdk"' in page.text
    assert "Confidence thresholds" not in text  # nothing to preview without predictions
    assert client.get(f"/models/{colour}/test").status_code == 200

    client.post("/admin/users", data={"username": "bob", "password": "bob-password", "csrf_token": owned["csrf"]})
    bob = new_client()
    log_in_browser(bob, "bob", "bob-password")
    for path in (f"/models/{colour}", f"/models/{colour}/test", f"/models/{colour}/deploy",
                 f"/models/compare?a={owned['a']}&b={owned['b']}"):
        refused = bob.get(path)
        assert refused.status_code == 404 and "There is no model version" in error_of(refused), path
    assert bob.get("/models/not-a-number").status_code == 422
    stranger = new_client()
    assert stranger.get(f"/models/{colour}", follow_redirects=False).headers["location"].startswith("/login?next=")


def test_compare_page_shows_the_deltas_and_the_images_whose_verdict_changed(owned, client):
    a, b = owned["a"], owned["b"]
    offered = client.get(f"/models/{a}")
    assert f'<option value="{b}">' in offered.text and f'<option value="{a}">' not in offered.text
    page = client.get(f"/models/compare?a={a}&b={b}")
    assert page.status_code == 200
    text = _text(page)
    assert "Model v1 compared with v2" in text
    assert "4 images evaluated by both: 1 fixed, 1 broken, 0 changed" in text
    fixed = re.search(r'verdict-fixed">.*?</h3>\s*<ul class="thumbs">(.*?)</ul>', page.text, re.S).group(1)
    assert fixed.count('class="thumb"') == 1 and "猫/1.png" in fixed and "猫: dog → 猫" in html.unescape(fixed)


def test_deploy_page_publishes_refuses_a_bad_name_and_unpublishes(owned, client):
    colour, csrf = owned["colour"], owned["csrf"]
    empty = client.get(f"/models/{colour}/deploy")
    assert "Not published yet" in _text(empty)
    assert 'value="pets-v3"' in empty.text or 'value="model-' in empty.text  # a name that keeps the rule

    bad = client.post(f"/models/{colour}/deploy", data={"name": "Bad Name!", "csrf_token": csrf})
    assert bad.status_code == 422 and "The endpoint was not published" in _text(bad)
    assert 'value="Bad Name!"' in bad.text
    forged = client.post(f"/models/{colour}/deploy", data={"name": "forged-one"})
    assert forged.status_code == 403

    made = client.post(f"/models/{colour}/deploy", data={"name": "colours", "csrf_token": csrf})
    assert flash_of(made) == "Endpoint “colours” is published. Call it with an API token as in the example below."
    assert "/serve/colours/predict" in made.text and "Bearer &lt;YOUR_TOKEN&gt;" in made.text
    endpoint = client.get("/api/v1/endpoints").json()["items"][0]["id"]
    taken = client.post(f"/models/{colour}/deploy", data={"name": "colours", "csrf_token": csrf})
    assert taken.status_code == 409

    assert client.post(f"/models/{colour}/deploy/{endpoint}/unpublish").status_code == 403  # no CSRF token
    gone = client.post(f"/models/{colour}/deploy/{endpoint}/unpublish", data={"csrf_token": csrf})
    assert flash_of(gone).startswith("Endpoint “colours” was unpublished")
    assert "Not published yet" in _text(gone)
    assert client.get("/api/v1/endpoints").json()["total"] == 0


def _verdict_sentences(page) -> str:
    section = re.search(r'<section class="verdict[^>]*>.*?<p>(.*?)</p>', page.text, re.S).group(1)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section)).split())


def test_the_verdict_is_worded_from_the_reports_findings_in_the_pages_language(owned, client, app, settings):
    """English reads as the library's own text; 简体中文 has none of its English sentences left."""
    with app.state.classmill.sessions() as session:
        folder = settings.workspace / session.get(ModelVersion, owned["a"]).folder
    build_report([CLASSES.index(label) for label in LABELS], PROBS_A, CLASSES, folder / "report" / "val")
    english = _verdict_sentences(client.get(f"/models/{owned['a']}"))
    kinds = [f["kind"] for f in _report_conclusion(client, owned["a"])["findings"]]
    assert english == " ".join(_report_conclusion(client, owned["a"])["text"].split())
    assert {"accuracy", "weakest_class_and_pair", "few_images"} <= set(kinds)

    client.cookies.set("classmill_lang", "zh_CN")
    chinese = _verdict_sentences(client.get(f"/models/{owned['a']}"))
    assert "准确率" in chinese and "猫" in chinese and "。 " not in chinese
    for word in ("Accuracy", "images", "Weakest", "confused", "rough", "Confidences"):
        assert word not in chinese, chinese


def _report_conclusion(client, version_id: int) -> dict:
    served = client.get(f"/api/v1/models/{version_id}/files/report/val/report.json")
    assert served.status_code == 200
    return served.json()["conclusion"]


def test_a_calibrated_report_gives_the_temperature_and_the_ece_before_in_the_pages_language(owned, client, app,
                                                                                           settings):
    import numpy as np

    from classmill.infer.calibration import softmax

    with app.state.classmill.sessions() as session:
        folder = settings.workspace / session.get(ModelVersion, owned["a"]).folder
    logits = np.log(np.array(PROBS_A))
    fit = {"method": "temperature", "temperature": 2.0, "fitted_on": "val", "images": 4, "clamped": False}
    build_report([CLASSES.index(label) for label in LABELS], softmax(logits, 2.0), CLASSES, folder / "report" / "val",
                 calibration_fit=fit, uncalibrated_probs=softmax(logits), fitted_images_here=4)
    english = _text(client.get(f"/models/{owned['a']}"))
    assert "The confidences are calibrated (temperature 2, fitted on the validation split)" in english
    assert "so the ECE after calibration is optimistic" in english
    client.cookies.set("classmill_lang", "zh_CN")
    chinese = _text(client.get(f"/models/{owned['a']}"))
    assert "置信度已校准（温度 2" in chinese and "偏乐观" in chinese and "calibrated" not in chinese
    # A report from before calibration (no "temperature" in report.json) has no such sentence.
    build_report([CLASSES.index(label) for label in LABELS], PROBS_A, CLASSES, folder / "report" / "val")
    assert "置信度已校准" not in _text(client.get(f"/models/{owned['a']}"))
