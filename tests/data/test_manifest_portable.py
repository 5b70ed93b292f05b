"""A split manifest stays usable when its folder, its dataset or the zip extraction cache moves."""

import json
import shutil
import zipfile

import pytest

from classmill import data
from classmill.data import Dataset
from classmill.data.manifest import verify_images
from classmill.errors import DatasetError
from support.images import make_class_folders, noise, save

POLICY = data.DatasetPolicy(min_images_per_class=1, recommended_images_per_class=1)


def _split(source, out):
    data.split(data.load(source, POLICY), val=0.25, test=0.0, seed=0, out=out)
    return json.loads((out / "manifest.json").read_text())


def test_manifest_stores_paths_relative_to_the_dataset_root(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 4, "b": 4})
    manifest = _split(tmp_path / "d", tmp_path / "split")
    assert manifest["dataset"]["root"] == str((tmp_path / "d").resolve())
    assert {r["path"] for r in manifest["records"]} == {f"{c}/{c}_{i:03d}.jpg" for c in "ab" for i in range(4)}
    assert all(len(r["content_hash"]) == 32 for r in manifest["records"])


def test_moved_split_folder_and_moved_dataset_load_with_a_new_location(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 4, "b": 4})
    _split(tmp_path / "d", tmp_path / "split")
    shutil.move(tmp_path / "split", tmp_path / "elsewhere")
    manifest = json.loads((tmp_path / "elsewhere" / "manifest.json").read_text())
    ds = Dataset.from_manifest(manifest)  # the dataset did not move: found at its recorded root
    verify_images(ds.records, ds.source)

    shutil.move(tmp_path / "d", tmp_path / "d2")
    ds = Dataset.from_manifest(manifest)
    with pytest.raises(DatasetError, match="missing.*pass --data with the dataset's new location"):
        verify_images(ds.records, ds.source)
    ds = Dataset.from_manifest(manifest, tmp_path / "d2")
    verify_images(ds.records, ds.source)
    assert all(r.path.is_file() and r.path.is_relative_to(tmp_path / "d2") for r in ds.records)


def test_changed_image_is_named(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 4, "b": 4})
    manifest = _split(tmp_path / "d", tmp_path / "split")
    save(noise(seed=99), tmp_path / "d" / "a" / "a_002.jpg")
    ds = Dataset.from_manifest(manifest)
    with pytest.raises(DatasetError, match="a/a_002.jpg.*content hash changed"):
        verify_images(ds.records, ds.source)
    verify_images([r for r in ds.records if r.ref != "a/a_002.jpg"], ds.source)  # only the images used count


def test_zip_source_is_extracted_again_when_the_cache_is_gone(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 4, "b": 4})
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((tmp_path / "d").rglob("*.jpg")):
            zf.write(path, path.relative_to(tmp_path / "d").as_posix())
    manifest = _split(archive, tmp_path / "split")
    cache = manifest["dataset"]["root"]
    assert manifest["dataset"]["source"] == str(archive.resolve())
    assert manifest["records"][0]["path"].startswith(("a/", "b/"))
    shutil.rmtree(cache)
    ds = Dataset.from_manifest(manifest)
    verify_images(ds.records, ds.source)

    shutil.rmtree(cache)
    shutil.move(archive, tmp_path / "moved.zip")
    ds = Dataset.from_manifest(manifest, tmp_path / "moved.zip")
    verify_images(ds.records, ds.source)
    shutil.rmtree(ds.records[0].path.parents[1], ignore_errors=True)


def test_old_manifest_with_absolute_paths_still_loads(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 4, "b": 4})
    ds = data.load(tmp_path / "d", POLICY)
    old = ds.to_manifest()  # the format before relative paths: absolute paths, "source" only
    loaded = Dataset.from_manifest(old)
    assert [r.path for r in loaded.records] == [r.path for r in ds.records]
    verify_images(loaded.records, loaded.source)
    shutil.move(tmp_path / "d", tmp_path / "d2")
    moved = Dataset.from_manifest(old, tmp_path / "d2")
    verify_images(moved.records, moved.source)
