"""A run folder moved to another directory (and its dataset moved, its zip cache gone) still
evaluates and exports INT8: issue #10, item 4."""

import json
import shutil
import zipfile

import pytest
from typer.testing import CliRunner

from classmill.cli import app
from classmill.errors import UserError

pytestmark = pytest.mark.slow  # two tiny trainings + ONNX/INT8 exports: ~30 s on two cores

runner = CliRunner()
CLASSES = ("airplane", "bird")


def _dataset_folder(shared_datasets, folder):
    for label in CLASSES:
        (folder / label).mkdir(parents=True)
        for image in sorted((shared_datasets / "cifar10-mini" / label).iterdir())[:20]:
            shutil.copy(image, folder / label / image.name)
    return folder


def _train(data, out):
    from classmill.train import resolve_config, train

    # Probe only, 48 px (the smallest size efficientnet_lite0's INT8 graph runs at): a few seconds.
    config = resolve_config("fast", data=str(data), image_size=48, batch_size=8, head_warmup_steps=20, workers=2)
    assert train(config, out).status == "finished"
    return out


@pytest.fixture(scope="module")
def private_cache(tmp_path_factory):
    """Zip extractions land in a per-test folder, wherever the reader keeps its cache."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("tempfile.tempdir", str(cache))
        mp.setenv("XDG_CACHE_HOME", str(cache))
        mp.setenv("TMPDIR", str(cache))
        yield cache


def _evaluate_and_export(run, tmp_path, *extra):
    result = runner.invoke(app, ["evaluate", str(run), "--out", str(tmp_path / "report"), *extra])
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["n_images"] == 8  # 2 classes x 4 val images (20 % of 20)
    bundle = tmp_path / "model.cmb"
    result = runner.invoke(app, ["export", str(run), "--int8", "--out", str(bundle), *extra])
    assert result.exit_code == 0, (result.output, result.exception)
    from classmill.infer import read_bundle

    int8 = read_bundle(bundle).metadata["formats"]["onnx-int8"]
    assert int8["calibration_images"] == 32 and int8["eval"]["images"] == 8
    assert "INT8" in result.output


def test_moved_run_with_its_zip_cache_gone_evaluates_and_exports_int8(shared_datasets, tmp_path, private_cache):
    folder = _dataset_folder(shared_datasets, tmp_path / "images")
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*.jpg")):
            zf.write(path, path.relative_to(folder).as_posix())
    shutil.rmtree(folder)
    run = _train(archive, tmp_path / "runs" / "run")
    manifest = json.loads((run / "split" / "manifest.json").read_text())
    assert manifest["dataset"]["source"] == str(archive.resolve())
    assert manifest["records"] and not any(r["path"].startswith("/") for r in manifest["records"])

    # The run moves to another directory and the zip's extraction cache is deleted; the zip is
    # where it was, so it is extracted again through the normal reader.
    shutil.rmtree(manifest["dataset"]["root"])
    moved = tmp_path / "elsewhere" / "run"
    shutil.move(tmp_path / "runs", tmp_path / "elsewhere")
    assert not run.exists()
    _evaluate_and_export(moved, tmp_path / "out")


def test_run_and_dataset_moved_together_need_data_and_then_work(shared_datasets, tmp_path):
    project = tmp_path / "project"
    data = _dataset_folder(shared_datasets, project / "images")
    _train(data, project / "runs" / "run")
    shutil.move(project, tmp_path / "copied-to-another-machine")
    moved = tmp_path / "copied-to-another-machine"

    result = runner.invoke(app, ["evaluate", str(moved / "runs" / "run"), "--out", str(tmp_path / "r")])
    assert isinstance(result.exception, UserError), result.output
    message = str(result.exception)
    assert "missing" in message and "pass --data with the dataset's new location" in message
    assert not (tmp_path / "r").exists()
    result = runner.invoke(app, ["export", str(moved / "runs" / "run"), "--int8", "--out", str(tmp_path / "m.cmb")])
    assert isinstance(result.exception, UserError) and "--data" in str(result.exception)
    assert not (tmp_path / "m.cmb").exists()

    _evaluate_and_export(moved / "runs" / "run", tmp_path / "out", "--data", str(moved / "images"))
