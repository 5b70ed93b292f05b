"""End to end: a tiny trained run on cifar10-mini, evaluated through the CLI."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classmill.cli import app
from classmill.evaluate.run import evaluate
from classmill.train import resolve_config, train
from support.images import csv_of_copies

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_run(shared_datasets, tmp_path_factory):
    root = tmp_path_factory.mktemp("evalrun")
    data = csv_of_copies(shared_datasets / "cifar10-mini", ("cat", "dog", "frog", "ship"), 25, root)
    config = resolve_config("balanced", data=str(data), image_size=32, batch_size=16, epochs=2, warmup_epochs=0.0,
                            val=0.4)
    train(config, root / "run")
    return root / "run"


def test_evaluate_cli_writes_json_and_html(tiny_run, tmp_path):
    out = tmp_path / "report"
    result = runner.invoke(app, ["evaluate", str(tiny_run), "--out", str(out), "--target-recall", "0.9",
                                 "--positive-class", "cat"])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "report.html" in result.output
    assert "Probabilities are calibrated" in result.output
    assert "All images here are ones it was fitted on" in result.output
    assert "evaluating" in result.output and "40/40" in result.output  # the progress bar, finished
    assert "Good: Good:" not in result.output and "Fair: Fair:" not in result.output
    assert "Poor: Poor:" not in result.output
    report = json.loads((out / "report.json").read_text())
    for key in ("overall", "per_class", "confusion_matrix", "thresholds", "misclassified", "calibration", "provenance"):
        assert key in report, key
    assert report["provenance"]["split"] == "val" and report["provenance"]["model"] == "efficientnet_lite0"
    assert report["overall"]["n_images"] == 40  # 4 classes x 10 val images
    # The run's probabilities are calibrated with its temperature, fitted on these very val images.
    fitted = json.loads((tiny_run / "calibration.json").read_text())
    temperature = report["calibration"]["temperature"]
    assert temperature["value"] == fitted["temperature"] == report["provenance"]["temperature"]
    assert temperature["images_it_was_fitted_on"] == 40 and temperature["fitted_images"] == 40
    assert temperature["ece_before"] == pytest.approx(fitted["ece_before"], abs=1e-4)
    assert report["calibration"]["ece"] == pytest.approx(fitted["ece_after"], abs=1e-4)
    html = (out / "report.html").read_text()
    assert "Confusion matrix" in html and "data:image/jpeg;base64" in html
    assert "http://" not in html and "https://" not in html


def test_evaluate_on_other_data_and_unknown_labels(tiny_run, shared_datasets, tmp_path):
    data = tmp_path / "d"
    for label in ("cat", "dog"):
        shutil.copytree(shared_datasets / "cifar10-mini" / label, data / label)
    result = evaluate(tiny_run, data, split="all", out=tmp_path / "r")
    assert result.images == 200 and result.report.html_path.is_file()
    # 10 cat and 10 dog images of the run's val split are among them: counted by content.
    assert result.report.temperature.overlap == 20
    assert result.report.overall.n_classes_present == 2  # frog and ship absent: reported, no crash
    shutil.copytree(shared_datasets / "cifar10-mini" / "horse", data / "horse")
    from classmill.errors import UserError

    with pytest.raises(UserError, match="not trained on: horse"):
        evaluate(tiny_run, data, split="all", out=tmp_path / "r2")


def test_run_refuses_unknown_labels_before_decoding_any_image(tiny_run, shared_datasets, tmp_path, monkeypatch):
    data = tmp_path / "d"
    for label in ("cat", "horse"):
        shutil.copytree(shared_datasets / "cifar10-mini" / label, data / label)

    def must_not_run(*args, **kwargs):
        raise AssertionError("images were decoded for the model before the labels were checked")

    # On the class, so every holder of a reference to ImageStore sees it.
    monkeypatch.setattr("classmill.train.pipeline.ImageStore.__init__", must_not_run)
    from classmill.errors import UserError

    with pytest.raises(UserError, match="not trained on: horse"):
        evaluate(tiny_run, data, split="all", out=tmp_path / "r")


@pytest.mark.browser
def test_report_opens_in_chromium_without_errors(tiny_run, tmp_path):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    result = evaluate(tiny_run, out=tmp_path / "r")
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(result.report.html_path.as_uri())
        assert page.locator("img").count() > 3
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
