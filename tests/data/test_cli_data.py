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


def test_check_reports_progress_per_image_and_per_extracted_file(tmp_path, monkeypatch):
    import zipfile

    from classmill import data

    monkeypatch.setenv("CLASSMILL_CACHE_DIR", str(tmp_path / "cache"))
    files = make_class_folders(tmp_path / "d", {"a": 4, "b": 3})
    events = []
    data.check(tmp_path / "d", progress=events.append)
    check = [e for e in events if e["phase"] == "check"]
    assert check[0]["done"] == 0 and check[-1]["done"] == check[-1]["total"] == 7
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        for p in files:
            zf.write(p, str(p.relative_to(tmp_path)))
    events.clear()
    data.check(tmp_path / "d.zip", progress=events.append)
    assert [e["phase"] for e in events if e["done"] == e["total"]] == ["extract", "check"]


def test_check_draws_progress_on_stderr_and_keeps_json_on_stdout(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 3, "b": 3})
    result = runner.invoke(app, ["data", "check", str(tmp_path / "d"), "--json", "--min-images", "3"])
    assert json.loads(result.stdout)["usable_images"] == 6
    assert "checking images" in result.stderr and "6/6" in result.stderr
