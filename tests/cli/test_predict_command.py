"""`classmill predict BUNDLE INPUT`: one image, and a folder with broken files among good ones."""

import csv
import io
import json
import shutil
import subprocess
import sys

import pytest
from PIL import Image
from typer.testing import CliRunner

from classmill.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def good_images(shared_datasets, tiny_classes):
    """One image per class that the tiny run did not train on (it used each class's first 20)."""
    return [sorted((shared_datasets / "cifar10-mini" / label).iterdir())[-1] for label in tiny_classes]


def test_one_image_json_has_top_k_and_writes_the_result_picture(tiny_bundle, tiny_classes, good_images, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["predict", str(tiny_bundle), str(good_images[0]), "--top-k", "2", "--json",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["label"] in tiny_classes and answer["int8"] is False
    assert [p["label"] for p in answer["top_k"]][0] == answer["label"] and len(answer["top_k"]) == 2
    assert answer["top_k"][0]["prob"] == answer["confidence"] >= answer["top_k"][1]["prob"]
    picture = Image.open(answer["result_image"])
    assert picture.format == "PNG" and picture.height > picture.width  # the caption band below the image


def test_one_image_table_lists_every_class_with_int8(tiny_bundle, tiny_classes, good_images, tmp_path):
    result = runner.invoke(app, ["predict", str(tiny_bundle), str(good_images[1]), "--int8", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert all(label in result.stdout for label in tiny_classes) and "(int8)" in result.stdout
    assert (tmp_path / f"{good_images[1].stem}.prediction.png").is_file()


def _folder_with_broken_files(root, good_images) -> set[str]:
    """Six good images, three broken ones and a text file; returns the good names."""
    good = set()
    for i, image in enumerate(good_images * 2):
        shutil.copy(image, root / f"good_{i}{image.suffix}")
        good.add(f"good_{i}{image.suffix}")
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.jpg").write_text("this is a text file that someone renamed to .jpg\n")
    whole = io.BytesIO()
    Image.open(good_images[0]).convert("RGB").resize((256, 256)).save(whole, "JPEG", quality=90)
    (root / "truncated.jpg").write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    (root / "readme.txt").write_text("not an image by its name: skipped, not an error\n")
    return good


def test_folder_with_broken_files_lists_them_as_errors_and_predicts_the_rest(
    tiny_bundle, tiny_classes, good_images, tmp_path
):
    folder = tmp_path / "in"
    folder.mkdir()
    good_names = _folder_with_broken_files(folder, good_images)
    out = tmp_path / "out"
    result = runner.invoke(app, ["predict", str(tiny_bundle), str(folder), "--out", str(out), "--sort"])
    assert result.exit_code == 0, result.output
    with open(out / "predictions.csv", newline="") as fh:
        rows = {row["path"]: row for row in csv.DictReader(fh)}
    broken = {"empty.jpg", "notes.jpg", "truncated.jpg"}
    assert set(rows) == broken | good_names
    for name in broken:
        assert rows[name]["error"] and not rows[name]["top1"], rows[name]
    assert "0 bytes" in rows["empty.jpg"]["error"] and "not an image" in rows["notes.jpg"]["error"]
    assert "truncated" in rows["truncated.jpg"]["error"]
    good = [row for name, row in rows.items() if name not in broken]
    assert all(row["top1"] in tiny_classes and not row["error"] for row in good)
    assert "6 of 9 images classified" in result.stdout and "3 file(s) could not be classified" in result.stdout
    assert "skipped 1 file(s)" in result.stdout
    sorted_copies = [p for label in tiny_classes if (out / label).is_dir() for p in (out / label).iterdir()]
    assert len(sorted_copies) == 6


def test_folder_json_summary(tiny_bundle, good_images, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _folder_with_broken_files(folder, good_images)
    result = runner.invoke(app, ["predict", str(tiny_bundle), str(folder), "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["total"] == 9 and summary["predicted"] == 6 and sum(summary["label_counts"].values()) == 6
    assert {e["path"] for e in summary["errors"]} == {"empty.jpg", "notes.jpg", "truncated.jpg"}
    assert summary["skipped"] == ["readme.txt"]


def test_user_mistakes_are_user_errors(tiny_bundle, good_images, tmp_path):
    from classmill.errors import UserError

    result = runner.invoke(app, ["predict", str(tiny_bundle), str(tmp_path / "missing.jpg")])
    assert isinstance(result.exception, UserError) and "does not exist" in str(result.exception)
    result = runner.invoke(app, ["predict", str(tmp_path / "missing.cmb"), str(good_images[0])])
    assert isinstance(result.exception, UserError) and "no such bundle" in str(result.exception)
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["predict", str(tiny_bundle), str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert isinstance(result.exception, UserError) and "no image files" in str(result.exception)
    result = runner.invoke(app, ["predict", str(tiny_bundle), str(good_images[0]), "--sort"])
    assert result.exit_code == 2 and "--sort" in result.output


def test_thresholds_file_marks_answers_uncertain_in_json_table_and_csv(tiny_bundle, tiny_classes, good_images, tmp_path):
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({label: 1.0 for label in tiny_classes}))  # nothing reaches 1.0
    one = runner.invoke(app, ["predict", str(tiny_bundle), str(good_images[0]), "--json", "--thresholds", str(strict),
                              "--out", str(tmp_path / "one")])
    assert one.exit_code == 0, one.output
    answer = json.loads(one.stdout)
    assert answer["uncertain"] is True and answer["threshold"] == 1.0
    table = runner.invoke(app, ["predict", str(tiny_bundle), str(good_images[0]), "--thresholds", str(strict),
                                "--out", str(tmp_path / "table")])
    assert "uncertain:" in table.stdout and "below the 100.00% threshold" in table.stdout
    many = runner.invoke(app, ["predict", str(tiny_bundle), str(good_images[0].parent), "--json", "--thresholds",
                               str(strict), "--out", str(tmp_path / "many")])
    assert many.exit_code == 0, many.output
    summary = json.loads(many.stdout)
    with open(summary["csv"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert summary["uncertain"] == len(rows) > 0
    assert {(row["uncertain"], row["threshold"]) for row in rows} == {("true", "1.000000")}


def test_a_thresholds_file_naming_another_class_is_refused(tiny_bundle, good_images, tmp_path):
    from classmill.errors import UserError

    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"Bird": 0.5}')
    result = runner.invoke(app, ["predict", str(tiny_bundle), str(good_images[0]), "--thresholds", str(wrong)])
    assert isinstance(result.exception, UserError) and "did you mean 'bird'" in str(result.exception)


_PREDICT_ON_A_CPU_WITHOUT_VNNI = """
import sys
import classmill.infer.predictor as predictor
predictor.int8_saturation_warning = lambda: "this CPU has no VNNI (the test says so)"
from classmill.cli import main
sys.argv = ["classmill", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("int8", [True, False])
def test_int8_on_a_cpu_without_vnni_prints_one_warning_line_and_fp32_none(tiny_bundle, good_images, tmp_path, int8):
    # In a child process through the real entry point: the one-line format is set up by main().
    command = [sys.executable, "-c", _PREDICT_ON_A_CPU_WITHOUT_VNNI, "predict", str(tiny_bundle), str(good_images[0]),
               "--out", str(tmp_path), *(["--int8"] if int8 else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    if int8:
        assert warned == [f"warning: {tiny_bundle}: this CPU has no VNNI (the test says so)"], done.stderr
        assert "(int8)" in done.stdout  # the prediction is still made
    else:
        assert warned == [] and "Int8AccuracyWarning" not in done.stderr, done.stderr
