"""The quality benchmark's bookkeeping without training anything: which cells a run measures, what a failed one
leaves, and what the report makes of the cells present (spread, paired ratios, verdict, flags)."""

import json
from dataclasses import replace
from types import SimpleNamespace

import pytest

import bench.quality as quality
from bench.__main__ import main
from bench.held_out import calibrated_ece, pooled_calibration
from bench.plan import full_plan, tiny_plan
from bench.quality import cell_path, classmill_overrides, run_quality
from bench.quality_report import render_quality, summarize, write_quality
from classmill.train.config import resolve_config
from support.images import make_class_folders

MACHINE = {"git_revision": "abc1234", "cpu": "test CPU", "cores": 2, "versions": {"classmill": "0"}}


@pytest.fixture
def fake_training(monkeypatch, tmp_path):
    """run_quality with the split and the child replaced: records which cells it measured."""
    measured, outcomes = [], {}

    def run_cell(plan, out, workdir, machine, name, dataset, peer, repeat, split):
        measured.append(f"{name}/{peer}-r{repeat}")
        return {"set": name, "peer": peer, "repeat": repeat, "status": outcomes.get(peer, "ok"), "reason": "boom"}

    monkeypatch.setattr(quality, "make_split_tree", lambda *a, **k: SimpleNamespace(train=[], val=[], test=[]))
    monkeypatch.setattr(quality, "_run_cell", run_cell)
    (tmp_path / "data" / "casting").mkdir(parents=True)
    plan = replace(full_plan(tmp_path / "data"), quality_sets=("casting",))
    return plan, measured, outcomes


def _run(plan, out, tmp_path, **kw):
    kw = {"sets": ("casting",), "peers": quality.quality_peers(plan), "repeats": (0, 1), **kw}
    return run_quality(plan, out, tmp_path / "work", MACHINE, **kw)


def test_a_run_measures_only_the_missing_cells_unless_redo(fake_training, tmp_path):
    plan, measured, _ = fake_training
    out = tmp_path / "quality"
    cell_path(out, "casting", "reference", 1).parent.mkdir(parents=True)
    cell_path(out, "casting", "reference", 1).write_text(json.dumps({"status": "ok"}))
    done = _run(plan, out, tmp_path)
    assert done["skipped"] == ["casting/reference-r1"] and len(done["ran"]) == 9
    # The default preset runs before the reference loop that takes its input size from it.
    assert measured[:5] == [f"casting/{p}-r0" for p in ("classmill-fast", "classmill-balanced", "classmill-accurate",
                                                        "reference", "reference-equal")]
    measured.clear()
    assert _run(plan, out, tmp_path)["ran"] == [] and measured == []
    assert len(_run(plan, out, tmp_path, peers=("classmill-fast",), redo=True)["ran"]) == 2
    assert measured == ["casting/classmill-fast-r0", "casting/classmill-fast-r1"]


def test_a_failed_cell_is_kept_apart_and_retried(fake_training, tmp_path):
    plan, measured, outcomes = fake_training
    out = tmp_path / "quality"
    outcomes["classmill-accurate"] = "failed"
    done = _run(plan, out, tmp_path, repeats=(0,))
    assert done["failed"] == ["casting/classmill-accurate-r0"]
    assert cell_path(out, "casting", "classmill-accurate", 0, failed=True).is_file()
    assert not cell_path(out, "casting", "classmill-accurate", 0).exists()
    outcomes.clear()
    measured.clear()
    assert _run(plan, out, tmp_path, repeats=(0,))["ran"] == ["casting/classmill-accurate-r0"]
    assert not cell_path(out, "casting", "classmill-accurate", 0, failed=True).exists()


def _cell(peer, repeat, top1, wall, *, revision="abc1234", px=None, config=None):
    if peer.startswith("classmill-"):
        if config is None:  # the preset as the runner resolves it, with what the run decided from its data
            preset = peer.removeprefix("classmill-")
            resolved = resolve_config(preset, data="-", val=0.2, test=0.25, seed=repeat,
                                      **classmill_overrides(full_plan(), preset)).to_dict()
            config = {**{k: v for k, v in resolved.items() if k not in ("data", "schedule")},
                      "image_size": 160, "class_balance": "none",
                      "data_choices": [{"option": "class_balance", "value": "none", "reason": "balanced classes"},
                                       {"option": "image_size", "value": 160, "reason": "2x the median side"}]}
        px = config["image_size"]
    else:
        config = {"epochs": 5, "image_size": px, "resize": 256 if px == 224 else 183, "batch_size": 32}
    n = 100
    right = round(top1 * n)
    return {"set": "casting", "peer": peer, "repeat": repeat, "status": "ok", "tiny": False, "git_revision": revision,
            "machine": {"cpu": "test CPU", "cores": 2}, "finished": f"2026-01-0{repeat + 1} 00:00:00",
            "split": {"train_images": 330, "val_images": 120, "test_images": n, "scored_on_test_part": True},
            "input_px": px, "train_wall_s": wall, "peak_rss_mb": 1000.0, "others_busy_cores": 0.1,
            "test": {"images": n, "top1": top1, "macro_f1": top1 - 0.01, "ece": 0.05}, "config": config,
            "predictions": {"classes": ["a", "b"], "y_true": [0] * n, "y_pred": [0] * right + [1] * (n - right),
                            "confidence": [1.0] * n}}


def _rendered(cells: list[dict], tmp_path, plan) -> str:
    """quality.md as written from these cells, saved the way a run saves them."""
    out = tmp_path / "quality"
    for c in cells:
        quality._write_json(cell_path(out, c["set"], c["peer"], c["repeat"]), c)
    _, md_path = write_quality(out, plan, {**MACHINE, "cpu_flags": {}, "memory_gib": 1, "os": "x", "python": "3",
                                           "versions": {}, "date": "today"}, "python -m bench quality")
    return md_path.read_text()


def test_the_report_pairs_repeats_and_gives_the_verdict():
    plan = full_plan()
    cells = [_cell("classmill-balanced", 0, 0.99, 50), _cell("classmill-balanced", 1, 0.97, 60),
             _cell("classmill-balanced", 2, 0.98, 70),  # no reference for repeat 2: left out of the pairs
             _cell("reference", 0, 0.98, 200, px=224), _cell("reference", 1, 0.98, 300, px=224),
             _cell("reference-equal", 0, 0.95, 100, px=160)]
    s = summarize(cells, plan)["casting"]
    row = s["peers"]["classmill-balanced"]
    assert row["repeats"] == [0, 1, 2] and row["top1"]["mean"] == pytest.approx(0.98)
    assert row["top1"]["std"] == pytest.approx(0.01) and (row["top1"]["min"], row["top1"]["max"]) == (0.97, 0.99)
    assert row["train_wall_s_median"] == 60
    assert row["time_vs_reference"] == {"median": pytest.approx((50 / 200 + 60 / 300) / 2), "repeats": [0, 1]}
    assert row["time_vs_reference_equal"] == {"median": pytest.approx(0.5), "repeats": [0]}
    v = s["verdict"]["reference"]
    assert v["repeats"] == [0, 1] and v["top1"] == pytest.approx(0.98) and v["at_least_as_accurate"] is True
    assert v["delta_points_mean"] == pytest.approx(0.0) and v["within_time_share"] is True
    assert s["verdict"]["reference-equal"]["time_ratio"] == pytest.approx(0.5)
    assert s["verdict"]["reference-equal"]["within_time_share"] is False
    assert row["changed_since"] == [] and row["revisions"] == ["abc1234"]
    assert row["ece_if_calibrated_mean"] == 0.0  # all confident at 1.0: a calibrated model is always right


def test_times_are_compared_only_between_cells_from_one_kind_of_machine(tmp_path):
    plan = full_plan()
    ref_elsewhere = _cell("reference", 1, 0.98, 100, px=224)
    ref_elsewhere["machine"] = {"cpu": "another CPU", "cores": 2}
    cells = [_cell("classmill-balanced", 0, 0.99, 50), _cell("classmill-balanced", 1, 0.99, 50),
             _cell("reference", 0, 0.98, 200, px=224), ref_elsewhere]
    s = summarize(cells, plan)["casting"]
    assert s["peers"]["classmill-balanced"]["time_vs_reference"] == {"median": 0.25, "repeats": [0]}
    assert s["verdict"]["reference"]["repeats"] == [0, 1]  # accuracy pairs do not depend on the machine
    only_elsewhere = summarize([cells[1], ref_elsewhere], plan)["casting"]
    v = only_elsewhere["verdict"]["reference"]
    assert v["time_ratio"] is None and v["within_time_share"] is None
    out = tmp_path / "quality"
    for c in (cells[1], ref_elsewhere):
        quality._write_json(cell_path(out, c["set"], c["peer"], c["repeat"]), c)
    _, md_path = write_quality(out, plan, {**MACHINE, "cpu_flags": {}, "memory_gib": 1, "os": "x", "python": "3",
                                           "versions": {}, "date": "today"}, "python -m bench quality")
    markdown = md_path.read_text()
    assert ("| casting | reference loop, 224 px | 1 | 99.0 % | 98.0 % | +1.0 | yes | – | not timed on one machine in "
            "one sitting |") in markdown
    assert "Some cells were measured on another machine: another CPU, 2 cores." in markdown


def test_times_are_paired_only_within_one_boot_or_when_older_cells_finished_hours_apart_at_most():
    plan = full_plan()

    def timed(peer, wall, boot=None, finished="2026-01-01 09:00:00"):
        cell = _cell(peer, 0, 0.99, wall, **({} if peer.startswith("classmill") else {"px": 224}))
        cell["machine"] = {"cpu": "test CPU", "cores": 2, **({"boot": boot} if boot else {})}
        cell["finished"] = finished
        return cell

    def ratio(mine, ref):
        return summarize([mine, ref], plan)["casting"]["peers"]["classmill-balanced"]["time_vs_reference"]

    assert ratio(timed("classmill-balanced", 50, boot="b1"), timed("reference", 200, boot="b1")) == \
        {"median": 0.25, "repeats": [0]}
    # Another boot of the same kind of machine: its speed may differ, so no time pair (hours apart or not).
    assert ratio(timed("classmill-balanced", 50, boot="b1"), timed("reference", 200, boot="b2")) is None
    # Cells from before boots were recorded: paired when they finished within SITTING_HOURS.
    older_ref = timed("reference", 200, finished="2026-01-01 07:30:00")
    assert ratio(timed("classmill-balanced", 50), older_ref) == {"median": 0.25, "repeats": [0]}
    assert ratio(timed("classmill-balanced", 50, finished="2026-01-01 12:00:00"), older_ref) is None
    # One with a boot, one without: the time window decides.
    assert ratio(timed("classmill-balanced", 50, boot="b1", finished="2026-01-01 08:00:00"), older_ref)["median"] == 0.25
    assert ratio(timed("classmill-balanced", 50, boot="b1", finished="2026-01-02 08:00:00"), older_ref) is None


def test_the_ece_of_a_calibrated_model_is_binning_noise_that_shrinks_with_the_test_set():
    coin_flips = calibrated_ece([0.5] * 100)  # |0.5 - share right| over 100 fair coins: about 0.03-0.04
    assert 0.02 < coin_flips < 0.06
    assert calibrated_ece([0.5] * 10_000, draws=200) < 0.01
    assert calibrated_ece([1.0] * 50) == 0.0
    assert calibrated_ece([0.8] * 250) == calibrated_ece([0.8] * 250)  # seeded: the report renders the same twice


def test_the_pooled_ece_takes_the_repeats_predictions_together_and_the_report_judges_it_against_the_goal(tmp_path):
    plan = full_plan()
    # Repeat 0: 100 images at confidence 0.9, 80 right (ECE 0.10); repeat 1: 100 at 0.9, all right
    # (ECE 0.10 too). Pooled: 180 of 200 right at 0.9, ECE 0.00, though each repeat alone shows 0.10.
    cells = [_cell("classmill-balanced", 0, 0.8, 50), _cell("classmill-balanced", 1, 1.0, 50)]
    for c in cells:
        c["predictions"]["confidence"] = [0.9] * 100
    pooled = pooled_calibration([c["predictions"] for c in cells])
    assert pooled["images"] == 200 and pooled["ece"] == pytest.approx(0.0)
    assert 0 < pooled["ece_if_calibrated"] < calibrated_ece([0.9] * 100)  # twice the images: less binning noise
    row = summarize(cells, plan)["casting"]["peers"]["classmill-balanced"]
    assert row["ece_pooled"] == pooled
    markdown = _rendered(cells, tmp_path, plan)
    assert f"| casting | 2 | 200 | 0.050 | 0.000 | {pooled['ece_if_calibrated']:.3f} | yes |" in markdown


def test_cells_from_other_revisions_or_an_older_preset_are_kept_and_flagged(tmp_path):
    plan = full_plan()
    old = _cell("classmill-balanced", 0, 0.99, 50)
    old["config"] = {**old["config"], "lr": 5e-4}  # the preset has moved on since this cell
    cells = [old, _cell("classmill-balanced", 1, 0.97, 60, revision="def5678"),
             _cell("reference", 0, 0.98, 200, px=224)]
    markdown = _rendered(cells, tmp_path, plan)
    assert "| classmill balanced ⚑ |" in markdown and "| reference loop, 224 px |" in markdown
    assert "measured at 2 classmill revisions (abc1234, def5678)" in markdown
    assert "settings changed since (now different: lr)" in markdown
    assert "abc1234: 2; def5678: 1" in markdown
    assert "casting: 12 cell(s) of the plan not measured yet" in markdown


def test_an_option_newer_than_a_cell_is_flagged_only_where_the_preset_moved_it_off_its_default():
    plan = full_plan()
    fast = _cell("classmill-fast", 0, 0.98, 9)
    balanced = _cell("classmill-balanced", 0, 0.99, 50)
    for cell in (fast, balanced):  # cells measured before these options existed
        for name in ("freeze_stages", "head_start", "refine_lr"):
            del cell["config"][name]
    s = summarize([fast, balanced], plan)["casting"]["peers"]
    assert s["classmill-fast"]["changed_since"] == []  # fast runs as it did: the options' defaults
    assert s["classmill-balanced"]["changed_since"] == ["freeze_stages", "head_start", "refine_lr"]


def test_a_tiny_run_refuses_a_folder_of_full_cells(tmp_path, capsys, monkeypatch):
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # main() sets them for its children: undone after the test
        monkeypatch.setenv(name, "1")
    (tmp_path / "data" / "casting").mkdir(parents=True)
    out = tmp_path / "quality"
    quality._write_json(cell_path(out, "casting", "reference", 0), {"status": "ok", "tiny": False})
    assert main(["quality", "--tiny", "--out", str(out), "--datasets", str(tmp_path / "data")]) == 2
    assert "holds cells of a full run" in capsys.readouterr().err
    assert main(["quality", "--out", str(out), "--datasets", str(tmp_path / "data"), "--peers", "nope",
                 "--sets", "casting"]) == 2
    assert "unknown peer 'nope'" in capsys.readouterr().err


def test_render_of_no_cells_says_what_is_missing():
    plan = tiny_plan()
    text = render_quality({"command": "c", "tiny": True, "cells": 0, "rendered": "now", "plan": plan.to_dict(),
                           "machine": {**MACHINE, "cpu_flags": {}, "memory_gib": 1, "os": "x", "python": "3",
                                       "versions": {}, "date": "now"},
                           "cells_from_other_machines": [], "cell_revisions": {}, "sets": {},
                           "missing": {"casting": ["classmill-fast-r0"]}, "problems": []}, plan)
    assert "casting: 1 cell(s) of the plan not measured yet (classmill-fast-r0)" in text


def test_the_equal_size_reference_takes_the_default_presets_resolved_size(tmp_path):
    plan = full_plan()
    out = tmp_path / "quality"
    dataset = make_class_folders(tmp_path / "photos", {"a": 25, "b": 25}, size=(60, 80))[0].parents[1]
    # No balanced cell for this repeat (--peers reference-equal alone): the size the preset would choose
    # from this data (60 px shorter sides: 2x, rounded to 128).
    size, resize, source = quality._reference_size(plan, out, "photos", "reference-equal", 0, dataset)
    assert (size, resize) == (128, round(128 * 256 / 224))
    assert source.startswith("resolve_config('balanced')")
    cell = _cell("classmill-balanced", 0, 0.99, 50)
    cell["config"]["image_size"] = 192  # the size the cell actually trained at wins
    quality._write_json(cell_path(out, "photos", "classmill-balanced", 0), cell)
    assert quality._reference_size(plan, out, "photos", "reference-equal", 0, dataset)[:2] == (192, 219)
    assert quality._reference_size(plan, out, "photos", "reference", 0, dataset)[:2] == (224, 256)
