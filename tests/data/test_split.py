import json
import math
import shutil

import pytest

from classmill import data
from classmill.errors import ConfigError
from classmill.data.split import split_quotas
from support.images import make_class_folders

POLICY = data.DatasetPolicy(min_images_per_class=1, recommended_images_per_class=1)


def test_stratified_within_one_image_per_class(shared_datasets):
    ds = data.load(shared_datasets / "cifar10-mini")
    result = data.split(ds, val=0.2, test=0.1, seed=0)
    for label, n in ds.counts().items():
        for split, frac in (("val", 0.2), ("test", 0.1), ("train", 0.7)):
            got = result.dataset.counts(split)[label]
            assert abs(got - n * frac) <= 1, (label, split, got)


def test_uneven_classes_stay_stratified(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 7, "b": 13, "c": 41})
    ds = data.load(tmp_path / "d", POLICY)
    result = data.split(ds, val=0.25, test=0.15, seed=1)
    for label, n in ds.counts().items():
        assert abs(result.dataset.counts("val")[label] - n * 0.25) <= 1
        assert abs(result.dataset.counts("test")[label] - n * 0.15) <= 1


def test_deterministic_for_a_seed_and_different_across_seeds(shared_datasets):
    ds = data.load(shared_datasets / "casting")
    a = {r.ref: r.split for r in data.split(ds, seed=0).dataset.records}
    b = {r.ref: r.split for r in data.split(ds, seed=0).dataset.records}
    c = {r.ref: r.split for r in data.split(ds, seed=1).dataset.records}
    assert a == b
    assert a != c


def test_order_of_files_does_not_matter(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 20, "b": 20})
    ds = data.load(tmp_path / "d", POLICY)
    forward = {r.content_hash: r.split for r in data.split(ds, seed=0).dataset.records}
    ds.records.reverse()
    backward = {r.content_hash: r.split for r in data.split(ds, seed=0).dataset.records}
    assert forward == backward


def test_adding_images_never_moves_existing_ones(tmp_path):
    root = tmp_path / "d"
    make_class_folders(root, {"a": 30, "b": 30})
    out = tmp_path / "split"
    first = {r.content_hash: r.split for r in data.split(root, val=0.2, test=0.1, out=out, policy=POLICY).dataset.records}
    make_class_folders(tmp_path / "new", {"a": 17, "b": 5}, seed=9)
    for p in (tmp_path / "new").rglob("*.jpg"):
        shutil.move(str(p), root / p.parent.name / ("new_" + p.name))
    result = data.split(root, val=0.2, test=0.1, out=out, policy=POLICY)
    second = {r.content_hash: r.split for r in result.dataset.records}
    assert result.kept == 60
    assert all(second[h] == s for h, s in first.items())
    for label, n in result.dataset.counts().items():
        for split, frac in (("val", 0.2), ("test", 0.1)):
            assert abs(result.dataset.counts(split)[label] - n * frac) <= 1


def test_tiny_class_gets_a_warning(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 2, "b": 20})
    result = data.split(tmp_path / "d", val=0.2, test=0.1, policy=POLICY)
    warned = [p for p in result.problems if p.rule == "class_too_small_to_split"]
    assert [p.label for p in warned] == ["a"]


def test_no_test_split_writes_an_empty_test_list(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 10, "b": 10})
    data.split(tmp_path / "d", val=0.2, test=0, out=tmp_path / "o", policy=POLICY)
    assert (tmp_path / "o" / "test_list.txt").read_text() == ""
    assert (tmp_path / "o" / "labels.txt").read_text() == "a\nb\n"
    back = data.load(tmp_path / "o", POLICY, root=tmp_path / "d")
    assert back.counts("val") == {"a": 2, "b": 2}


def test_quotas():
    for n in range(0, 50):
        q = split_quotas(n, 0.2, 0.1)
        assert sum(q.values()) == n and min(q.values()) >= 0
        if n >= 3:
            assert q["val"] >= 1 and q["test"] >= 1 and q["train"] >= 1
            assert abs(q["val"] - n * 0.2) <= 1 and abs(q["test"] - n * 0.1) <= 1
    assert math.isclose(sum(split_quotas(1000, 0.2, 0.1).values()), 1000)


def _recorded(out):
    return json.loads((out / "manifest.json").read_text())["split"]


@pytest.mark.parametrize("change", [{"val": 0.3}, {"test": 0.0}, {"seed": 5}])
def test_resplitting_with_other_settings_is_refused_and_records_nothing(tmp_path, change):
    make_class_folders(tmp_path / "d", {"a": 20, "b": 20})
    out = tmp_path / "split"
    data.split(tmp_path / "d", val=0.2, test=0.1, seed=0, out=out, policy=POLICY)
    before = (out / "manifest.json").read_bytes(), (out / "val_list.txt").read_bytes()
    asked = {"val": 0.2, "test": 0.1, "seed": 0, **change}
    with pytest.raises(ConfigError, match=r"--val 0.2, --test 0.1, --seed 0.*--force"):
        data.split(tmp_path / "d", out=out, policy=POLICY, **asked)
    assert ((out / "manifest.json").read_bytes(), (out / "val_list.txt").read_bytes()) == before


def test_force_resplits_and_records_what_it_applied(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 20, "b": 20})
    out = tmp_path / "split"
    data.split(tmp_path / "d", val=0.2, test=0.1, seed=0, out=out, policy=POLICY)
    result = data.split(tmp_path / "d", val=0.5, test=0.0, seed=0, out=out, policy=POLICY, force=True)
    assert result.kept == 0
    assert result.dataset.counts("val") == {"a": 10, "b": 10} and result.dataset.counts("test") == {"a": 0, "b": 0}
    assert _recorded(out) == {"val": 0.5, "test": 0.0, "seed": 0}


def test_cli_refuses_a_resplit_without_force(tmp_path):
    from typer.testing import CliRunner

    from classmill.cli import app

    make_class_folders(tmp_path / "d", {"a": 20, "b": 20})
    out = tmp_path / "split"
    args = ["data", "split", str(tmp_path / "d"), "--out", str(out)]
    runner = CliRunner()
    assert runner.invoke(app, args).exit_code == 0
    refused = runner.invoke(app, args + ["--val", "0.4"])
    assert isinstance(refused.exception, ConfigError) and "--force" in str(refused.exception)  # main() prints it
    assert _recorded(out)["val"] == 0.2
    assert runner.invoke(app, args + ["--val", "0.4", "--force"]).exit_code == 0
    assert _recorded(out)["val"] == 0.4


def test_a_split_folder_read_as_a_dataset_says_which_root_to_name(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 5, "b": 5})
    data.split(tmp_path / "d", val=0.2, test=0.2, out=tmp_path / "o", policy=POLICY)
    refused = data.check(tmp_path / "o", POLICY)
    outside = [p for p in refused.problems if p.rule == "path_outside_root"]
    assert len(outside) == 10 and not refused.dataset.records
    assert f"--data-root {(tmp_path / 'd').resolve()}" in outside[0].fix
    assert data.check(tmp_path / "o", POLICY, root=tmp_path / "d").ok
