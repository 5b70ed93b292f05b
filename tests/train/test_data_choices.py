"""Options left "auto" are decided from the run's training split, written into config.yaml with why."""

import pytest
import yaml

from classmill.data import Dataset, ImageRecord
from classmill.train import resolve_config, train
from classmill.train.data_choices import IMBALANCE_RATIO, decide_from_data
from support.images import make_class_folders


def _dataset(counts: dict[str, int], side: int = 200) -> Dataset:
    records = [ImageRecord(ref=f"{label}/{i}.jpg", path=f"/x/{label}/{i}.jpg", label=label, split="train",
                           width=side, height=side + 50)
               for label, n in counts.items() for i in range(n)]
    return Dataset(source="/x", kind="folder", classes=sorted(counts), records=records)


def test_auto_balance_switches_on_at_the_imbalance_ratio():
    config = resolve_config("balanced", data="/x")
    assert config.class_balance == "auto"
    lopsided = decide_from_data(config, _dataset({"ok": int(10 * IMBALANCE_RATIO), "ng": 10}))
    assert lopsided.class_balance == "weights"
    choice = next(c for c in lopsided.data_choices if c["option"] == "class_balance")
    assert choice["option"] == "class_balance" and "'ok'" in choice["reason"] and "'ng'" in choice["reason"]
    even = decide_from_data(config, _dataset({"ok": int(10 * IMBALANCE_RATIO) - 1, "ng": 10}))
    assert even.class_balance == "none"
    assert next(c for c in even.data_choices if c["option"] == "class_balance")["value"] == "none"


def test_an_explicit_choice_is_kept():
    config = resolve_config("balanced", data="/x", class_balance="none")
    decided = decide_from_data(config, _dataset({"ok": 100, "ng": 10}))
    assert decided.class_balance == "none"
    assert [c["option"] for c in decided.data_choices] == ["image_size"]


def test_the_run_config_records_the_decision_and_a_config_file_decides_again(tmp_path):
    make_class_folders(tmp_path / "data", {"ok": 80, "ng": 20}, size=(40, 40))
    config = resolve_config("fast", data=str(tmp_path / "data"), image_size=32, head_warmup_steps=5, seed=1)
    events = []
    train(config, tmp_path / "run", callbacks=(events.append,))
    written = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert written["class_balance"] == "weights"
    assert [c["option"] for c in written["data_choices"]] == ["class_balance"]  # image_size was given
    start = next(e for e in events if e["type"] == "start")
    assert start["data_choices"] == written["data_choices"]
    # A run's config.yaml used as a config file: concrete values are kept, the record is not carried over.
    again = resolve_config(None, config_file=tmp_path / "run" / "config.yaml")
    assert again.class_balance == "weights" and again.data_choices == []


@pytest.mark.parametrize("preset, side, images, expected", [
    ("balanced", 300, 500, 160),  # large photos: the preset's largest size
    ("balanced", 100, 500, 160),  # 2x 100 px, capped
    ("balanced", 60, 500, 128),  # 2x 60 px = 120, rounded to 128
    ("balanced", 32, 500, 128),  # 32 px images: the preset's smallest (96 px cost 5 points on cifar10-mini)
    ("accurate", 300, 500, 260),  # the preset's largest: lite2's own input size
    ("balanced", 300, 40_000, 96),  # many images: the pixel budget lowers the size, down to BUDGET_FLOOR
    ("balanced", 300, 15_000, 128),
])
def test_auto_input_size_from_the_images_and_the_budget(preset, side, images, expected):
    dataset = _dataset({"a": images // 2, "b": images - images // 2}, side=side)
    decided = decide_from_data(resolve_config(preset, data="/x"), dataset)
    assert decided.image_size == expected
    choice = next(c for c in decided.data_choices if c["option"] == "image_size")
    assert choice["value"] == expected and f"{side:g} px" in choice["reason"]
    assert ("budget" in choice["reason"]) == (images > 10_000)


def test_an_explicit_input_size_is_kept():
    decided = decide_from_data(resolve_config("balanced", data="/x", image_size=224), _dataset({"a": 30, "b": 30}, 32))
    assert decided.image_size == 224 and all(c["option"] != "image_size" for c in decided.data_choices)
