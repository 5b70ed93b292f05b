"""Zip oddities and the extraction cache (issue #10, item 3)."""

import fcntl
import os
import stat
import threading
import time
import zipfile
import zlib

import pytest

from classmill import data
from classmill.data.readers import extract_cache, zip_archive
from classmill.data.readers.zip_safety import ArchiveError, ArchiveLimits
from classmill.errors import DatasetError
from support.images import jpeg_bytes, noise

POLICY = data.DatasetPolicy(min_images_per_class=2, recommended_images_per_class=2)


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("CLASSMILL_CACHE_DIR", str(folder))
    return folder / "extract"


def _dataset_zip(path, extra=(), n=2):
    with zipfile.ZipFile(path, "w") as zf:
        # Seeds distinct within the zip (equal images in two classes are dropped as conflicting
        # duplicates) and per zip name, from crc32: hash() of a str changes with each process.
        base = zlib.crc32(path.name.encode()) % 100_000 * 1000
        for class_index, label in enumerate("ab"):
            for i in range(n):
                zf.writestr(f"ds/{label}/{i}.jpg", jpeg_bytes(noise(seed=base + 100 * class_index + i)))
        for name, payload in extra:
            zf.writestr(name, payload)
    return path


def test_a_file_and_a_folder_of_the_same_name_is_a_clear_error(tmp_path, cache):
    zpath = _dataset_zip(tmp_path / "clash.zip", [("ds/a/sub", b"a file"), ("ds/a/sub/x.jpg", jpeg_bytes(noise()))])
    with pytest.raises(DatasetError, match=r"'ds/a/sub' is a file, but entry 'ds/a/sub/x.jpg' needs a folder"):
        data.check(zpath, POLICY)
    assert not list(cache.glob("clash-*/*"))  # nothing half-extracted is left behind


def test_an_explicit_folder_entry_clashing_with_a_file_is_refused_too(tmp_path, cache):
    zpath = _dataset_zip(tmp_path / "clash2.zip", [("ds/b/dir", b"x"), ("ds/b/dir/", b"")])
    with pytest.raises(ArchiveError, match="ds/b/dir"):
        data.check(zpath, POLICY)


def test_duplicate_entries_never_overwrite_each_other_silently(tmp_path, cache):
    same = jpeg_bytes(noise(seed=1))
    extra = [("ds/a/same.jpg", same), ("ds/a/same.jpg", same),
             ("ds/b/differs.jpg", jpeg_bytes(noise(seed=2))), ("ds/b/differs.jpg", jpeg_bytes(noise(seed=3)))]
    with pytest.warns(UserWarning, match="Duplicate name"):
        zpath = _dataset_zip(tmp_path / "dups.zip", extra)
    report = data.check(zpath, POLICY)
    rules = {p.file: (p.rule, p.severity) for p in report.problems if "archive_entry" in p.rule}
    assert rules == {"ds/a/same.jpg": ("duplicate_archive_entry", data.WARNING),
                     "ds/b/differs.jpg": ("conflicting_archive_entry", data.ERROR)}
    refs = [r.ref for r in report.dataset.records]
    assert refs.count("a/same.jpg") == 1 and "b/differs.jpg" not in refs


def test_the_cache_is_private_per_user_and_overridable(tmp_path, cache):
    zpath = _dataset_zip(tmp_path / "ok.zip")
    report = data.check(zpath, POLICY)
    assert report.ok
    assert all(r.path.is_relative_to(cache) for r in report.dataset.records)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    os.environ.pop("CLASSMILL_CACHE_DIR")
    assert not str(extract_cache.default_extract_dir(zpath)).startswith("/tmp/classmill-extract")


def test_two_extractions_of_one_archive_at_once_unpack_it_once(tmp_path, cache, monkeypatch):
    zpath = _dataset_zip(tmp_path / "shared.zip")
    dest = extract_cache.default_extract_dir(zpath)
    calls = []
    real = zip_archive._extract

    def slow_extract(*args):
        calls.append(1)
        time.sleep(0.3)  # long enough for the other thread to arrive while the lock is held
        real(*args)

    monkeypatch.setattr(zip_archive, "_extract", slow_extract)
    results = []

    def run():  # each call opens the lock file itself: flock treats the threads like two processes
        results.append(zip_archive.extract_zip(zpath))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(results) == 2
    assert all(r.root == dest for r in results) and extract_cache.is_complete(dest)


def test_a_running_extraction_is_waited_for(tmp_path, cache):
    zpath = _dataset_zip(tmp_path / "wait.zip")
    dest = extract_cache.default_extract_dir(zpath)
    fd = os.open(extract_cache.lock_path(dest), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another process extracting it would
    done = []
    worker = threading.Thread(target=lambda: done.append(zip_archive.extract_zip(zpath)))
    worker.start()
    time.sleep(0.3)
    assert not done and not dest.exists()
    os.close(fd)
    worker.join(10)
    assert done and extract_cache.is_complete(dest)


def test_an_extraction_deleted_from_under_its_own_process_is_made_again(tmp_path, cache):
    # The process holds a shared lock on an extraction it used; asking for an exclusive lock through
    # a second descriptor would wait on that lock forever (a moved run whose zip cache was cleared).
    import shutil

    zpath = _dataset_zip(tmp_path / "again.zip")
    first = zip_archive.extract_zip(zpath)
    shutil.rmtree(first.root)
    done = []
    worker = threading.Thread(target=lambda: done.append(zip_archive.extract_zip(zpath)), daemon=True)
    worker.start()
    worker.join(10)
    assert done, "extracting again deadlocked on the process's own lock"
    assert extract_cache.is_complete(done[0].root)


def test_the_cache_stays_within_its_budget_evicting_least_recently_used(tmp_path, cache, monkeypatch):
    zips = [_dataset_zip(tmp_path / f"z{i}.zip", n=3) for i in range(4)]
    dests = []
    for i, z in enumerate(zips[:3]):
        dests.append(zip_archive.extract_zip(z).root)
        os.utime(dests[-1] / extract_cache.COMPLETE_MARKER, (1000 + i, 1000 + i))
    each = extract_cache.extraction_bytes(dests[0])
    assert each > 0
    # This process lets go of z0 and z2; z1's shared lock stays, as if another process still used it.
    held = {str(d): extract_cache._IN_USE.pop(str(d)) for d in dests}
    for d in (dests[0], dests[2]):
        os.close(held[str(d)])
    monkeypatch.setenv("CLASSMILL_CACHE_MAX_GB", str(2.5 * each / 1e9))
    partial = cache / "z9-dead.partial-999999"  # left by a killed extraction
    partial.mkdir()
    newest = zip_archive.extract_zip(zips[3]).root
    assert not dests[0].exists() and not dests[2].exists()  # least recently used first, down to the budget
    assert dests[1].exists()  # in use elsewhere: kept although older than z2
    assert newest.exists() and not partial.exists()
    os.close(held[str(dests[1])])


def test_one_set_of_limits_for_datasets_and_predict():
    from classmill.infer import sources

    assert data.DatasetPolicy().archive == ArchiveLimits()
    assert sources.zip_inputs.__kwdefaults__["limits"] is None  # None means ArchiveLimits()
