"""Options left "auto" are decided from the run's training split, written into config.yaml with why."""

import yaml

from classmill.data import Dataset, ImageRecord
from classmill.train import resolve_config, train
from classmill.train.data_choices import IMBALANCE_RATIO, decide_from_data
from support.images import make_class_folders


def _dataset(counts: dict[str, int]) -> Dataset:
    records = [ImageRecord(ref=f"{label}/{i}.jpg", path=f"/x/{label}/{i}.jpg", label=label, split="train")
               for label, n in counts.items() for i in range(n)]
    return Dataset(source="/x", kind="folder", classes=sorted(counts), records=records)


def test_auto_balance_switches_on_at_the_imbalance_ratio():
    config = resolve_config("balanced", data="/x")
    assert config.class_balance == "auto"
    lopsided = decide_from_data(config, _dataset({"ok": int(10 * IMBALANCE_RATIO), "ng": 10}))
    assert lopsided.class_balance == "weights"
    (choice,) = lopsided.data_choices
    assert choice["option"] == "class_balance" and "'ok'" in choice["reason"] and "'ng'" in choice["reason"]
    even = decide_from_data(config, _dataset({"ok": int(10 * IMBALANCE_RATIO) - 1, "ng": 10}))
    assert even.class_balance == "none" and even.data_choices[0]["value"] == "none"


def test_an_explicit_choice_is_kept():
    config = resolve_config("balanced", data="/x", class_balance="none")
    decided = decide_from_data(config, _dataset({"ok": 100, "ng": 10}))
    assert decided.class_balance == "none" and decided.data_choices == []


def test_the_run_config_records_the_decision_and_a_config_file_decides_again(tmp_path):
    make_class_folders(tmp_path / "data", {"ok": 80, "ng": 20}, size=(40, 40))
    config = resolve_config("fast", data=str(tmp_path / "data"), image_size=32, head_warmup_steps=5, seed=1)
    events = []
    train(config, tmp_path / "run", callbacks=(events.append,))
    written = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert written["class_balance"] == "weights"
    assert [c["option"] for c in written["data_choices"]] == ["class_balance"]
    start = next(e for e in events if e["type"] == "start")
    assert start["data_choices"] == written["data_choices"]
    # A run's config.yaml used as a config file: concrete values are kept, the record is not carried over.
    again = resolve_config(None, config_file=tmp_path / "run" / "config.yaml")
    assert again.class_balance == "weights" and again.data_choices == []
