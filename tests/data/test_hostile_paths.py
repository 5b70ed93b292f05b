"""Paths a list, a CSV or a link names are confined to the dataset root (issue #10, item 2)."""

import json
import os
import zipfile

import pytest
from typer.testing import CliRunner

from classmill import data
from classmill.cli import app
from support.images import jpeg_bytes, make_class_folders, noise, save

POLICY = data.DatasetPolicy(min_images_per_class=2, recommended_images_per_class=2)


def _outside_problems(report):
    return {p.file: p for p in report.problems if p.rule == "path_outside_root"}


def _hostile_zip(tmp_path):
    """A zip whose CSV names good images, an absolute path and '..' paths to a real image outside."""
    outside = save(noise(seed=77), tmp_path / "secret" / "private.jpg")
    zpath = tmp_path / "upload.zip"
    rows = ["path,label"] + [f"{label}{i}.jpg,{label}" for label in "ab" for i in range(3)]
    rows += [f"{outside},a", "../../secret/private.jpg,b", "x/../../../../../../..{},a".format(outside)]
    with zipfile.ZipFile(zpath, "w") as zf:  # a CSV zip: the CSV and its images side by side
        for i, label in enumerate(n for n in "ab" for _ in range(3)):
            zf.writestr(f"{label}{i % 3}.jpg", jpeg_bytes(noise(seed=i)))
        zf.writestr("labels.csv", "\n".join(rows) + "\n")
    return zpath, outside


def test_zip_csv_naming_absolute_and_dotdot_paths_is_rejected_naming_the_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSMILL_CACHE_DIR", str(tmp_path / "cache"))
    zpath, outside = _hostile_zip(tmp_path)
    report = data.check(zpath, POLICY)
    refused = _outside_problems(report)
    assert set(refused) == {"labels.csv:8", "labels.csv:9", "labels.csv:10"}
    assert "absolute path" in refused["labels.csv:8"].message
    assert "'..'" in refused["labels.csv:9"].message
    assert all(p.severity == data.ERROR and p.fix for p in refused.values())
    assert not report.ok
    assert all(r.path.is_relative_to(tmp_path / "cache") for r in report.dataset.records)
    assert len(report.dataset.records) == 6
    # The CLI says the same, on the JSON report and in the exit code.
    result = CliRunner().invoke(app, ["data", "check", str(zpath), "--json", "--min-images", "2"])
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert {e["file"] for e in errors if e["rule"] == "path_outside_root"} == set(refused)


def test_paddle_list_lines_leaving_the_root_are_errors(tmp_path):
    root = tmp_path / "ds"
    make_class_folders(root / "images", {"a": 3, "b": 3})
    outside = save(noise(seed=5), tmp_path / "elsewhere.jpg")
    os.symlink(outside, root / "images" / "link.jpg")
    lines = [f"images/a/a_{i:03d}.jpg 0" for i in range(3)] + [f"images/b/b_{i:03d}.jpg 1" for i in range(3)]
    lines += [f"{outside} 0", "../elsewhere.jpg 1", "images/link.jpg 0", "images/a/../b/b_000.jpg 1"]
    (root / "labels.txt").write_text("a\nb\n")
    (root / "train_list.txt").write_text("\n".join(lines) + "\n")
    report = data.check(root, POLICY)
    refused = _outside_problems(report)
    assert set(refused) == {"train_list.txt:7", "train_list.txt:8", "train_list.txt:9"}
    assert "symbolic link" in refused["train_list.txt:9"].message
    # '..' that stays inside the root is fine (the duplicate line is its own warning).
    assert {r.ref for r in report.dataset.records} >= {"images/b/b_000.jpg"}
    assert not any(r.path == outside.resolve() for r in report.dataset.records)


def test_a_wider_root_given_by_the_user_admits_lists_beside_the_images(tmp_path):
    make_class_folders(tmp_path / "images", {"a": 2, "b": 2})
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "data.csv").write_text(
        "".join(f"../images/{label}/{label}_{i:03d}.jpg,{label}\n" for label in "ab" for i in range(2)))
    refused = data.check(tmp_path / "lists" / "data.csv", POLICY)
    assert len(_outside_problems(refused)) == 4 and not refused.dataset.records
    admitted = data.check(tmp_path / "lists" / "data.csv", POLICY, root=tmp_path / "images")
    assert admitted.ok and len(admitted.dataset.records) == 4
    assert {r.ref for r in admitted.dataset.records} == {f"{label}/{label}_{i:03d}.jpg" for label in "ab" for i in range(2)}


@pytest.mark.parametrize("rel, reason", [
    ("/etc/passwd", "absolute"), ("C:\\x.jpg", "absolute"), ("\\\\server\\share\\x.jpg", "absolute"),
    ("../x.jpg", "'..'"), ("a/../../x.jpg", "'..'"), ("", "empty"),
])
def test_confine_refuses(tmp_path, rel, reason):
    from classmill.data.readers.confine import PathOutsideRoot, confine

    with pytest.raises(PathOutsideRoot, match=reason):
        confine(tmp_path.resolve(), rel)


def test_confine_follows_links_and_keeps_what_stays_inside(tmp_path):
    from classmill.data.readers.confine import PathOutsideRoot, confine

    root = (tmp_path / "root").resolve()
    save(noise(), root / "a" / "x.jpg")
    os.symlink(root / "a" / "x.jpg", root / "inside.jpg")
    os.symlink(tmp_path, root / "up")
    assert confine(root, "a/../a/x.jpg") == root / "a" / "x.jpg"
    assert confine(root, "inside.jpg") == root / "a" / "x.jpg"
    with pytest.raises(PathOutsideRoot, match="symbolic link"):
        confine(root, "up/root/a/x.jpg/../../../outside.jpg")
    with pytest.raises(PathOutsideRoot, match="symbolic link"):
        confine(root, "up")
