"""Calibration in the bundle: calibration.json with its checksum, applied by the Predictor (and so by
batch prediction and the service) as softmax(logits / T); a bundle without it answers as before."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from classmill.errors import UserError
from classmill.infer import BundleError, Predictor, predict_many, read_bundle, write_bundle_thresholds
from classmill.infer.bundle import CALIBRATION_FILE, CALIBRATION_SHA256, METADATA_FILE
from classmill.infer.calibration import check_calibration, softmax
from support.colour_bundle import build_colour_bundle
from support.bundle_edits import rewrite_bundle

FIT = {"method": "temperature", "temperature": 2.5, "fitted_on": "val", "images": 40, "clamped": False,
       "ece_before": 0.2, "ece_after": 0.02, "nll_before": 0.9, "nll_after": 0.5}
MURKY_RED = (160, 120, 40)  # the colour bundle answers "red" for it with ~0.79 uncalibrated


@pytest.fixture(scope="module")
def calibrated_bundle(tmp_path_factory):
    return build_colour_bundle(tmp_path_factory.mktemp("calibrated") / "calibrated.cmb", calibration=FIT)


@pytest.fixture
def murky(make_two_tone, colours):
    return make_two_tone(MURKY_RED, colours["dark"])


def test_the_bundle_carries_the_temperature_with_its_checksum(calibrated_bundle):
    bundle = read_bundle(calibrated_bundle)
    assert bundle.temperature == 2.5 and bundle.calibration == FIT
    with zipfile.ZipFile(calibrated_bundle) as zf:
        data, metadata = zf.read(CALIBRATION_FILE), json.loads(zf.read(METADATA_FILE))
    assert metadata[CALIBRATION_SHA256] == hashlib.sha256(data).hexdigest()


def test_the_predictor_applies_the_temperature_the_uncalibrated_bundle_does_not(colour_bundle, calibrated_bundle,
                                                                                murky):
    plain, calibrated = Predictor.load(colour_bundle), Predictor.load(calibrated_bundle)
    assert plain.temperature == 1.0 and read_bundle(colour_bundle).calibration == {}
    batch = np.stack([plain.prepare(murky)])
    logits = plain.predict_logits(batch)
    np.testing.assert_array_equal(calibrated.predict_logits(batch), logits)  # the same model
    np.testing.assert_allclose(plain.predict_proba(batch), softmax(logits), atol=1e-7)
    np.testing.assert_allclose(calibrated.predict_proba(batch), softmax(logits / 2.5), atol=1e-7)
    before, after = plain.predict([murky])[0], calibrated.predict([murky])[0]
    assert before.label == after.label == "red"
    assert 0.7 < before.confidence and after.confidence < before.confidence - 0.2  # T > 1 softens
    assert after.probs.sum() == pytest.approx(1.0, abs=1e-6)


def test_batch_prediction_writes_calibrated_confidences(calibrated_bundle, murky, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    murky.save(folder / "murky.png")
    predictor = Predictor.load(calibrated_bundle)
    result = predict_many(predictor, folder, tmp_path / "out")
    with open(result.csv_path, newline="") as fh:
        row = next(csv.DictReader(fh))
    assert float(row["confidence"]) == pytest.approx(predictor.predict([murky])[0].confidence, abs=1e-5)


def test_the_service_answers_calibrated_confidences_and_says_which_temperature(colour_bundle, calibrated_bundle, murky):
    from fastapi.testclient import TestClient

    from classmill.serve import create_app

    buf = io.BytesIO()
    murky.save(buf, "PNG")
    files = {"files": ("murky.png", buf.getvalue(), "image/png")}
    with TestClient(create_app(colour_bundle)) as plain, TestClient(create_app(calibrated_bundle)) as calibrated:
        before = plain.post("/predict", files=files).json()[0]
        after = calibrated.post("/predict", files=files).json()[0]
        assert plain.get("/model").json()["temperature"] == 1.0
        model = calibrated.get("/model").json()
    assert model["temperature"] == 2.5 and model["calibration"] == FIT
    expected = Predictor.load(calibrated_bundle).predict([murky])[0]
    assert after["confidence"] == pytest.approx(expected.confidence, abs=1e-5)
    assert after["confidence"] < before["confidence"] - 0.2


def test_setting_thresholds_keeps_the_calibration(calibrated_bundle, tmp_path):
    bundle = write_bundle_thresholds(calibrated_bundle, {"red": 0.5}, tmp_path / "with-thresholds.cmb")
    assert bundle.temperature == 2.5 and bundle.thresholds == {"red": 0.5}


def test_calibration_changed_added_or_dropped_outside_export_is_refused(colour_bundle, calibrated_bundle, tmp_path):
    sharper = json.dumps({**FIT, "temperature": 0.5}).encode()
    edited = rewrite_bundle(calibrated_bundle, tmp_path / "edited.cmb", {CALIBRATION_FILE: lambda _: sharper})
    with pytest.raises(BundleError, match="calibration.json does not match the checksum") as err:
        read_bundle(edited)
    assert str(edited) in str(err.value) and "Re-export" in str(err.value)
    added = rewrite_bundle(colour_bundle, tmp_path / "added.cmb", {CALIBRATION_FILE: lambda _: sharper})
    with pytest.raises(BundleError, match="added or changed after export"):
        read_bundle(added)
    dropped = rewrite_bundle(calibrated_bundle, tmp_path / "dropped.cmb", {CALIBRATION_FILE: lambda _: None})
    with pytest.raises(BundleError, match="records a calibration.json that the bundle lacks"):
        read_bundle(dropped)
    with pytest.raises(BundleError):  # never re-signed: a damaged source is refused first
        write_bundle_thresholds(edited, {"red": 0.5}, tmp_path / "resigned.cmb")


@pytest.mark.parametrize("document, problem", [
    ({"method": "platt", "temperature": 1.0}, "method 'platt' is not supported"),
    ({"method": "temperature", "temperature": 0}, "not a number between"),
    ({"method": "temperature", "temperature": float("nan")}, "not a number between"),
    ({"method": "temperature", "temperature": True}, "not a number between"),
    ({"method": "temperature"}, "temperature None"),
    ([1.5], "must be a JSON object"),
])
def test_check_calibration_names_the_problem(document, problem):
    with pytest.raises(UserError, match=problem) as err:
        check_calibration(document, source="calibration.json")
    assert str(err.value).startswith("calibration.json:")


def test_export_refuses_a_bad_calibration_before_writing(tmp_path):
    with pytest.raises(UserError, match="not a number between"):
        build_colour_bundle(tmp_path / "bad.cmb", calibration={"method": "temperature", "temperature": -1})
    assert not (tmp_path / "bad.cmb").exists()
