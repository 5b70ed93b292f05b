"""`classmill export RUN`."""

import json

import pytest
from typer.testing import CliRunner

from classmill.cli import app

runner = CliRunner()


def test_export_int8_writes_fp32_and_int8_val_accuracy(int8_export, tiny_run):
    from classmill.infer import read_bundle
    from classmill.train import RunDirectory
    from classmill.train.prepare import load_prepared

    result, path = int8_export
    assert result.exit_code == 0, result.output
    bundle = read_bundle(path)
    assert {"model.onnx", "model.int8.onnx"} <= set(bundle.files)
    int8 = bundle.metadata["formats"]["onnx-int8"]
    dataset = load_prepared(RunDirectory(tiny_run))
    assert int8["calibration_images"] == min(100, len(dataset.in_split("train")))
    evaluation = int8["eval"]
    assert evaluation["images"] == len(dataset.in_split("val"))
    assert 0 <= evaluation["fp32_accuracy"] <= 1 and 0 <= evaluation["int8_accuracy"] <= 1
    # The PyTorch val top-1 of the exported checkpoint is what ONNX FP32 reproduces.
    assert evaluation["fp32_accuracy"] == pytest.approx(bundle.metadata["val_metrics"]["top1"], abs=1e-6)
    assert f"FP32 {evaluation['fp32_accuracy']:.4f}" in result.output
    assert f"INT8 {evaluation['int8_accuracy']:.4f}" in result.output


def test_export_defaults_to_run_export_folder_and_json(tiny_run):
    result = runner.invoke(app, ["export", str(tiny_run), "--which", "last", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["path"] == str(tiny_run / "export" / "model.cmb")
    assert (tiny_run / "export" / "model.cmb").is_file()
    assert report["metadata"]["checkpoint"] == "last" and "top1" in report["metadata"]["val_metrics"]
    assert "onnx-int8" not in report["metadata"]["formats"]


def test_export_of_a_folder_that_is_no_run_is_a_user_error(tmp_path):
    from classmill.errors import UserError

    result = runner.invoke(app, ["export", str(tmp_path)])
    assert isinstance(result.exception, UserError)
    assert "not a run folder" in str(result.exception)
    result = runner.invoke(app, ["export", str(tmp_path / "missing")])
    assert isinstance(result.exception, UserError) and "no such run folder" in str(result.exception)
