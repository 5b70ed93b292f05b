"""Batch-prediction inputs from a zip: the same safety rules and limits as dataset zips (issue #10, item 3)."""

import zipfile

import pytest

from classmill.data.readers.zip_safety import ArchiveError, ArchiveLimits
from classmill.infer.sources import zip_inputs


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in entries:
            zf.writestr(name, payload)
    return path


def test_defaults_are_the_one_set_of_archive_limits(tmp_path, monkeypatch):
    seen = []
    import classmill.infer.sources as sources

    real = sources.scan_archive
    monkeypatch.setattr(sources, "scan_archive", lambda zf, p, limits: seen.append(limits) or real(zf, p, limits))
    with zip_inputs(_zip(tmp_path / "a.zip", [("x.png", b"1")])):
        pass
    with zip_inputs(tmp_path / "a.zip", max_entries=7):
        pass
    assert seen == [ArchiveLimits(), ArchiveLimits(max_entries=7)]


def test_file_and_folder_clash_is_refused(tmp_path):
    archive = _zip(tmp_path / "c.zip", [("a/b", b"file"), ("a/b/c.jpg", b"img")])
    with pytest.raises(ArchiveError, match="'a/b' is a file, but entry 'a/b/c.jpg' needs a folder"):
        zip_inputs(archive)


def test_duplicate_names_with_different_content_are_refused_identical_ones_read_once(tmp_path):
    with pytest.warns(UserWarning):
        differing = _zip(tmp_path / "d.zip", [("x.jpg", b"one"), ("x.jpg", b"two")])
    with pytest.raises(ArchiveError, match="stored 2 times with different content"):
        zip_inputs(differing)
    with pytest.warns(UserWarning):
        identical = _zip(tmp_path / "i.zip", [("x.jpg", b"same"), ("x.jpg", b"same"), ("y.jpg", b"other")])
    with zip_inputs(identical) as inputs:
        assert [item.name for item in inputs.items] == ["x.jpg", "y.jpg"]


def test_gbk_names_are_decoded_as_for_datasets(tmp_path):
    # Chinese Windows writes GBK bytes without the UTF-8 flag; Python's writer cannot, so patch them in.
    gbk = "缺陷/图片.jpg".encode("gbk")
    placeholder = b"A" * 4 + b"/" + b"B" * (len(gbk) - 5)
    archive = _zip(tmp_path / "gbk.zip", [(placeholder.decode(), b"img")])
    archive.write_bytes(archive.read_bytes().replace(placeholder, gbk))
    with zip_inputs(archive) as inputs:
        assert [item.name for item in inputs.items] == ["缺陷/图片.jpg"]
        assert inputs.items[0].read() == b"img"
