"""build_sdk and `classmill sdk`: what the zip holds, the thresholds its bundle serves, what it refuses."""

from __future__ import annotations

import json
import re
import stat
import zipfile

import pytest
from typer.testing import CliRunner

from classmill.cli import app
from classmill.errors import UserError
from classmill.infer import BundleError, read_bundle, write_bundle_thresholds
from classmill.sdk import build_sdk
from classmill.sdk.instructions import install_line_linux, install_line_windows


def _unzip(info, dest):
    with zipfile.ZipFile(info.path) as zf:
        zf.extractall(dest)
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in zf.infolist()}
    return dest / info.folder, modes


def test_the_sdk_zip_holds_bundle_wheel_readme_and_run_scripts(colour_bundle, tmp_path):
    info = build_sdk(colour_bundle, tmp_path / "Colour model v2.zip")
    assert info.folder == "Colour-model-v2" and info.thresholds == {}
    folder, modes = _unzip(info, tmp_path / "out")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(
        ["README.md", "bundle/model.cmb", info.runtime_wheel, "run.sh", "run.bat"])
    assert (folder / "bundle/model.cmb").read_bytes() == colour_bundle.read_bytes()  # no thresholds: as it was
    assert modes[f"{info.folder}/run.sh"] == 0o755 and modes[f"{info.folder}/README.md"] == 0o644
    readme = (folder / "README.md").read_text()
    for line in (install_line_linux(info.runtime_wheel), install_line_windows(info.runtime_wheel), "./run.sh",
                 "run.bat", "http://127.0.0.1:8987/upload", "curl -F files=@photo.jpg http://127.0.0.1:8987/predict",
                 "Predictor.load(\"bundle/model.cmb\")", "no confidence thresholds", "red, green, blue, dark"):
        assert line in readme, line
    assert not re.search(r"\{[a-z_]+\}|\{\{|\}\}", readme)  # every placeholder filled, braces unescaped
    assert (folder / "run.bat").read_bytes().count(b"\r\n") == (folder / "run.bat").read_bytes().count(b"\n")
    assert "bundle\\model.cmb" in (folder / "run.bat").read_text()


def test_thresholds_go_into_the_sdks_copy_of_the_bundle(colour_bundle, tmp_path):
    own = write_bundle_thresholds(colour_bundle, {"blue": 0.4}, tmp_path / "own.cmb").path
    info = build_sdk(own, tmp_path / "sdk.zip", thresholds={"red": 0.9})
    folder, _ = _unzip(info, tmp_path / "out")
    assert read_bundle(folder / "bundle/model.cmb").thresholds == {"red": 0.9} == info.thresholds
    assert read_bundle(own).thresholds == {"blue": 0.4}  # the source bundle is untouched
    assert "| red | 0.9 |" in (folder / "README.md").read_text()
    kept = build_sdk(own, tmp_path / "kept.zip")  # None keeps the bundle's own
    assert kept.thresholds == {"blue": 0.4}


def test_a_damaged_bundle_or_a_bad_name_writes_nothing(colour_bundle, tmp_path):
    damaged = tmp_path / "damaged.cmb"
    damaged.write_bytes(colour_bundle.read_bytes()[:-100])
    with pytest.raises(BundleError):
        build_sdk(damaged, tmp_path / "sdk.zip")
    with pytest.raises(UserError, match="'purple' is not one of the model's classes"):
        build_sdk(colour_bundle, tmp_path / "sdk.zip", thresholds={"purple": 0.5})
    with pytest.raises(UserError, match="ending in .zip"):
        build_sdk(colour_bundle, tmp_path / "sdk.tar")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.cmb"]


def test_the_sdk_command(colour_bundle, tmp_path):
    thresholds = tmp_path / "t.json"
    thresholds.write_text(json.dumps({"green": 0.8}))
    out = tmp_path / "colour-sdk.zip"
    result = CliRunner().invoke(app, ["sdk", str(colour_bundle), "--out", str(out), "--thresholds", str(thresholds),
                                      "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["path"] == str(out) and answer["thresholds"] == {"green": 0.8} and out.is_file()
    assert answer["runtime_wheel"].startswith("classmill_runtime-")
    plain = CliRunner().invoke(app, ["sdk", str(colour_bundle)])
    assert plain.exit_code == 0 and colour_bundle.with_name(f"{colour_bundle.stem}-sdk.zip").is_file()
    assert "README.md" in plain.stdout
    colour_bundle.with_name(f"{colour_bundle.stem}-sdk.zip").unlink()  # the bundle's folder is shared
