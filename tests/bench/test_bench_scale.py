"""The scale benchmark: its generated dataset keeps the held-out originals out, stays within the platform's
image rules and does not depend on the number of processes; `python -m bench scale --tiny` runs end to end."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from bench.plan import full_plan
from bench.scale_data import MAX_SIDE, MIN_SIDE, Original, copies_per_original, generate, split_originals

ROOT = Path(__file__).resolve().parents[2]


def test_each_class_is_split_80_20_by_file_and_namespaced(shared_datasets):
    plan = full_plan(shared_datasets)
    train, heldout = split_originals(shared_datasets, plan.scale_sources, plan.scale_heldout, seed=0)
    assert not {o.path for o in train} & {o.path for o in heldout}
    assert len(train) + len(heldout) == sum(1 for _ in shared_datasets.glob("*/*/*.*")) == 6062
    train_per_class, held_per_class = Counter(o.label for o in train), Counter(o.label for o in heldout)
    assert len(train_per_class) == 38 and set(held_per_class) == set(train_per_class)
    assert "casting-ok_front" in train_per_class and "sign-digits-7" in train_per_class
    for label, n in held_per_class.items():
        assert abs(n / (n + train_per_class[label]) - 0.2) < 0.01, label
    assert split_originals(shared_datasets, plan.scale_sources, 0.2, seed=0)[1] == heldout  # seeded
    assert split_originals(shared_datasets, plan.scale_sources, 0.2, seed=1)[1] != heldout


def test_copies_are_spread_over_classes_in_proportion():
    originals = [Original(Path(f"a{i}"), "a") for i in range(30)] + [Original(Path(f"b{i}"), "b") for i in range(10)]
    counts = copies_per_original(originals, 100, seed=0)
    assert sum(counts) == 100 and set(counts) == {2, 3}
    assert sum(counts[:30]) == 75 and sum(counts[30:]) == 25


def test_copies_keep_the_platforms_sizes_and_do_not_depend_on_the_processes(shared_datasets, tmp_path):
    # CIFAR's 32 px images must not be cropped below 32 px; the 3024 px phone photos are brought down.
    tiny = sorted((shared_datasets / "cifar10-mini" / "cat").iterdir())[:4]
    phones = [shared_datasets / "sign-digits" / "7" / f"IMG_{n}.JPG" for n in (5874, 5935, 5978)]
    originals = [Original(p, "cifar10-mini-cat") for p in tiny] + [Original(p, "sign-digits-7") for p in phones]
    one = generate(originals, tmp_path / "one", 21, seed=5, processes=1)
    two = generate(originals, tmp_path / "two", 21, seed=5, processes=2)
    assert one["images"] == two["images"] == 21
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.jpg"))
    assert files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*.jpg"))
    assert len(files) == 21
    sizes = []
    for name in files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
        with Image.open(tmp_path / "one" / name) as img:
            sizes.append(img.size)
    assert min(min(s) for s in sizes) >= MIN_SIDE and max(max(s) for s in sizes) <= MAX_SIDE
    assert len({(tmp_path / "one" / name).read_bytes() for name in files}) == 21  # every copy differs


@pytest.mark.slow
def test_tiny_scale_benchmark_trains_and_scores_the_held_out_originals(tmp_path, shared_datasets):
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "bench", "scale", "--tiny", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    scale = results["scale"]
    assert scale["status"] == "ok", scale
    assert scale["generate"]["images"] == results["plan"]["scale_images"] == 2400 and scale["classes"] == 38
    assert 0 < scale["first_progress_s"] < scale["loop_start_s"] < scale["first_step_event_s"] < scale["train_wall_s"]
    assert scale["peak_rss_mb"] > 0 and scale["start"]["cached_images"] > 0
    assert scale["heldout"]["images"] == scale["heldout_originals"] == 1211
    assert 0 <= scale["heldout"]["macro_f1"] <= 1 and scale["heldout"]["top1"] > 1 / 38  # better than chance
    assert "## Scale: a generated dataset, default preset" in (out / "results.md").read_text()
    assert "train" not in results  # only the group asked for
