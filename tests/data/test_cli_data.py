import json

from typer.testing import CliRunner

from classmill.cli import app
from support.images import make_class_folders

runner = CliRunner()


def test_check_casting_prints_the_class_table_and_exits_zero(shared_datasets):
    result = runner.invoke(app, ["data", "check", str(shared_datasets / "casting")])
    assert result.exit_code == 0, result.output
    assert "def_front" in result.output and "ok_front" in result.output and "300" in result.output


def test_check_json_is_valid_json(shared_datasets):
    result = runner.invoke(app, ["data", "check", str(shared_datasets / "casting"), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["usable_images"] == 600
    assert {c["label"]: c["images"] for c in report["classes"]} == {"def_front": 300, "ok_front": 300}


def test_check_exits_non_zero_on_errors(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 3, "b": 25})
    (tmp_path / "d" / "b" / "broken.jpg").write_bytes(b"")
    result = runner.invoke(app, ["data", "check", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "too_few_images" in result.output and "empty_file" in result.output
    assert "broken.jpg" in result.output
    result = runner.invoke(app, ["data", "check", str(tmp_path / "d"), "--min-images", "3", "--json"])
    report = json.loads(result.stdout)
    assert [e["rule"] for e in report["errors"]] == ["empty_file"]


def test_split_command_writes_lists(tmp_path, shared_datasets):
    out = tmp_path / "s"
    result = runner.invoke(app, ["data", "split", str(shared_datasets / "casting"), "--val", "0.2", "--test", "0.1",
                                 "--seed", "0", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)["counts"]
    assert counts["val"] == {"def_front": 60, "ok_front": 60}
    assert len((out / "train_list.txt").read_text().splitlines()) == 420
