"""Per-class thresholds: stored in the bundle (verified like the models), applied by the Predictor
(uncertain flag, the answer unchanged), and written into predictions.csv."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import zipfile

import pytest

from classmill.errors import UserError
from classmill.infer import BundleError, Predictor, predict_many, read_bundle, write_bundle_thresholds
from classmill.infer.bundle import METADATA_FILE, MODEL_FILE, THRESHOLDS_FILE, THRESHOLDS_SHA256
from classmill.infer.thresholds import check_thresholds
from support.bundle_edits import rewrite_bundle

# The colour bundle answers "red" for this top half with confidence ~0.79, and ~0.998 for pure red.
MURKY_RED = (160, 120, 40)


@pytest.fixture
def murky_red(make_two_tone, colours):
    return make_two_tone(MURKY_RED, colours["dark"])


@pytest.fixture
def pure_red(make_two_tone, colours):
    return make_two_tone(colours["red"], colours["dark"])


def _entries(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_check_thresholds_names_every_problem_with_a_fix():
    labels = ["red", "green", "blue", "dark"]
    assert check_thresholds({"dark": 0, "red": 0.9}, labels) == {"red": 0.9, "dark": 0.0}  # label order
    with pytest.raises(UserError) as err:
        check_thresholds({"Red": 0.9, "green": 1.5, "blue": True, "dark": math.nan}, labels, source="t.json")
    message = str(err.value)
    assert message.startswith("t.json:") and "did you mean 'red'" in message
    assert "'green': 1.5" in message and "'blue': True" in message and "'dark': nan" in message
    with pytest.raises(UserError, match="JSON object of class name"):
        check_thresholds([0.9], labels)


def test_thresholds_are_written_into_the_bundle_and_verified(colour_bundle, tmp_path):
    out = tmp_path / "with.cmb"
    bundle = write_bundle_thresholds(colour_bundle, {"red": 0.9, "blue": 0.5}, out)
    assert bundle.thresholds == {"red": 0.9, "blue": 0.5} and read_bundle(out).thresholds == bundle.thresholds
    before, after = _entries(colour_bundle), _entries(out)
    assert after[MODEL_FILE] == before[MODEL_FILE]  # the model is copied byte for byte
    assert THRESHOLDS_FILE not in before and read_bundle(colour_bundle).thresholds == {}  # the source is untouched
    metadata = json.loads(after[METADATA_FILE])
    assert metadata[THRESHOLDS_SHA256] == hashlib.sha256(after[THRESHOLDS_FILE]).hexdigest()
    assert metadata["model_sha256"] == json.loads(before[METADATA_FILE])["model_sha256"]
    with zipfile.ZipFile(out) as zf:
        assert zf.getinfo(MODEL_FILE).compress_type == zipfile.ZIP_STORED

    # Replaced in place, then removed: each time a verifiable bundle, no temp files left beside it.
    assert write_bundle_thresholds(out, {"green": 0.7}).thresholds == {"green": 0.7}
    cleared = write_bundle_thresholds(out, None)
    assert cleared.thresholds == {} and THRESHOLDS_FILE not in cleared.files
    assert THRESHOLDS_SHA256 not in cleared.metadata
    assert sorted(p.name for p in tmp_path.iterdir()) == ["with.cmb"]


def test_a_bad_threshold_leaves_the_bundle_as_it_was(colour_bundle, tmp_path):
    out = tmp_path / "b.cmb"
    write_bundle_thresholds(colour_bundle, {"red": 0.9}, out)
    original = out.read_bytes()
    with pytest.raises(UserError, match="'purple' is not one of the model's classes"):
        write_bundle_thresholds(out, {"purple": 0.9})
    assert out.read_bytes() == original


def test_a_crash_while_writing_leaves_the_old_bundle(colour_bundle, tmp_path, monkeypatch):
    out = tmp_path / "b.cmb"
    write_bundle_thresholds(colour_bundle, {"red": 0.9}, out)
    original = out.read_bytes()
    real_writestr = zipfile.ZipFile.writestr

    def dies_on_thresholds(self, name, data, *args, **kwargs):
        if getattr(name, "filename", name) == THRESHOLDS_FILE:
            raise OSError("disk full")
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", dies_on_thresholds)
    with pytest.raises(OSError, match="disk full"):
        write_bundle_thresholds(out, {"red": 0.5})
    assert out.read_bytes() == original and sorted(p.name for p in tmp_path.iterdir()) == ["b.cmb"]


def test_thresholds_changed_or_added_outside_classmill_are_refused(colour_bundle, tmp_path):
    signed = write_bundle_thresholds(colour_bundle, {"red": 0.9}, tmp_path / "signed.cmb").path
    edited = rewrite_bundle(signed, tmp_path / "edited.cmb", {THRESHOLDS_FILE: lambda _: b'{"red": 0.1}\n'})
    with pytest.raises(BundleError, match="thresholds.json does not match the checksum"):
        read_bundle(edited)
    added = rewrite_bundle(colour_bundle, tmp_path / "added.cmb", {THRESHOLDS_FILE: lambda _: b'{"red": 0.1}\n'})
    with pytest.raises(BundleError, match="added or changed outside classmill"):
        read_bundle(added)
    dropped = rewrite_bundle(signed, tmp_path / "dropped.cmb", {THRESHOLDS_FILE: lambda _: None})
    with pytest.raises(BundleError, match="records a thresholds.json that the bundle lacks"):
        read_bundle(dropped)
    with pytest.raises(BundleError):  # never re-signed: a damaged source is refused first
        write_bundle_thresholds(edited, {"red": 0.5}, tmp_path / "resigned.cmb")
    assert not (tmp_path / "resigned.cmb").exists()


def test_predictor_marks_answers_below_their_class_threshold(colour_bundle, tmp_path, murky_red, pure_red):
    plain = Predictor.load(colour_bundle)
    [murky, red] = plain.predict([murky_red, pure_red])
    assert murky.label == red.label == "red" and 0.6 < murky.confidence < 0.9 < red.confidence
    assert not murky.uncertain and murky.threshold is None
    assert murky.to_dict() == {"label": "red", "confidence": murky.confidence,
                               "top_k": [{"label": n, "prob": p} for n, p in murky.top_k], "uncertain": False}

    bundle = write_bundle_thresholds(colour_bundle, {"red": 0.9}, tmp_path / "t.cmb").path
    strict = Predictor.load(bundle)
    assert strict.thresholds == {"red": 0.9}
    [murky_t, red_t] = strict.predict([murky_red, pure_red])
    assert (murky_t.uncertain, murky_t.threshold) == (True, 0.9)
    assert (red_t.uncertain, red_t.threshold) == (False, 0.9)
    # The answer itself never changes: same label, confidence and top-k list.
    assert (murky_t.label, murky_t.confidence, murky_t.top_k) == (murky.label, murky.confidence, murky.top_k)
    assert murky_t.to_dict() == {**murky.to_dict(), "uncertain": True, "threshold": 0.9}

    # Exactly at the threshold is not uncertain (the report accepts p >= threshold).
    at = plain.with_thresholds({"red": murky.confidence}).predict([murky_red])[0]
    assert not at.uncertain and at.threshold == murky.confidence
    # Given thresholds replace the bundle's; {} means none; with_thresholds shares the ORT session.
    assert Predictor.load(bundle, thresholds={}).predict([murky_red])[0].threshold is None
    assert Predictor.load(bundle, thresholds={"green": 0.5}).predict([murky_red])[0].uncertain is False
    assert strict.with_thresholds(None).thresholds == {"red": 0.9}
    assert strict.with_thresholds({}).session is strict.session
    with pytest.raises(UserError, match="'Red' is not one of the model's classes"):
        Predictor.load(bundle, thresholds={"Red": 0.5})


def test_predictions_csv_has_the_uncertain_and_threshold_columns(colour_bundle, tmp_path, murky_red, pure_red):
    folder = tmp_path / "in"
    folder.mkdir()
    murky_red.save(folder / "murky.png")
    pure_red.save(folder / "red.png")
    (folder / "broken.png").write_bytes(b"not a png")
    predictor = Predictor.load(colour_bundle, thresholds={"red": 0.9})
    result = predict_many(predictor, folder, tmp_path / "out")
    assert result.uncertain == 1 and result.predicted == 2
    with open(result.csv_path, newline="", encoding="utf-8") as fh:
        rows = {row["path"]: row for row in csv.DictReader(fh)}
    assert (rows["murky.png"]["uncertain"], rows["murky.png"]["threshold"]) == ("true", "0.900000")
    assert (rows["red.png"]["uncertain"], rows["red.png"]["threshold"]) == ("false", "0.900000")
    assert (rows["broken.png"]["uncertain"], rows["broken.png"]["threshold"]) == ("", "")
    assert rows["murky.png"]["top1"] == "red"
