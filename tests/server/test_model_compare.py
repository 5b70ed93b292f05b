"""Comparing two versions on hand-made predictions and metrics: verdicts, deltas, shared classes, options."""

from __future__ import annotations

import pytest

from classmill.server.services.model_compare import compare_metrics, config_differences, verdict_changes
from classmill.server.services.model_predictions import SplitPredictions


def predictions(classes, rows) -> SplitPredictions:
    return SplitPredictions.from_json({"classes": classes, "images": [{"hash": h, "label": label, "probs": p}
                                                                      for h, label, p in rows]})


A = predictions(["cat", "dog", "fox"], [
    ("h1", "cat", [0.9, 0.1, 0.0]),  # right
    ("h2", "cat", [0.3, 0.7, 0.0]),  # wrong (dog 0.7)
    ("h3", "dog", [0.2, 0.8, 0.0]),  # right
    ("h4", "fox", [0.6, 0.4, 0.0]),  # wrong (cat 0.6)
    ("h5", "cat", [0.1, 0.9, 0.0]),  # wrong (dog 0.9)
    ("h6", "dog", [0.4, 0.6, 0.0]),  # right
    ("h7", "cat", [0.8, 0.2, 0.0]),  # only in a
])
B = predictions(["cat", "dog", "fox"], [
    ("h1", "cat", [0.9, 0.1, 0.0]),  # right -> unchanged
    ("h2", "cat", [0.8, 0.2, 0.0]),  # right -> fixed
    ("h3", "dog", [0.55, 0.45, 0.0]),  # wrong (cat) -> broken
    ("h4", "fox", [0.1, 0.3, 0.6]),  # right -> fixed
    ("h5", "cat", [0.1, 0.2, 0.7]),  # wrong, another answer (fox) -> changed
    ("h6", "cat", [0.4, 0.6, 0.0]),  # relabelled cat in b's dataset version: dog is now wrong -> broken
    ("h8", "dog", [0.1, 0.9, 0.0]),  # only in b
])


def test_verdicts_of_the_images_both_evaluated():
    changes = verdict_changes(A, B, limit=10)
    assert (changes.shared, changes.only_a, changes.only_b) == (6, 1, 1)
    assert changes.counts == {"fixed": 2, "broken": 2, "changed": 1, "unchanged": 1}
    # fixed: a's most confident mistake first (h2 at 0.7 before h4 at 0.6)
    assert [c.content_hash for c in changes.images["fixed"]] == ["h2", "h4"]
    fixed = changes.images["fixed"][0]
    assert (fixed.label_a, fixed.predicted_a, fixed.predicted_b) == ("cat", "dog", "cat")
    assert (fixed.confidence_a, fixed.confidence_b) == (pytest.approx(0.7), pytest.approx(0.8))
    # broken: b's most confident mistake first (h6 at 0.6 before h3 at 0.55); h6 by its new label
    assert [c.content_hash for c in changes.images["broken"]] == ["h6", "h3"]
    assert (changes.images["broken"][0].label_a, changes.images["broken"][0].label_b) == ("dog", "cat")
    [changed] = changes.images["changed"]
    assert (changed.content_hash, changed.predicted_a, changed.predicted_b) == ("h5", "dog", "fox")


def test_the_lists_are_capped_but_the_counts_are_not():
    changes = verdict_changes(A, B, limit=1)
    assert [len(changes.images[v]) for v in ("fixed", "broken", "changed")] == [1, 1, 1]
    assert changes.counts["fixed"] == 2 and changes.images["fixed"][0].content_hash == "h2"
    assert all(not group for group in verdict_changes(A, B, limit=0).images.values())


def test_a_version_against_itself_changes_nothing():
    changes = verdict_changes(A, A, limit=10)
    assert changes.counts == {"fixed": 0, "broken": 0, "changed": 0, "unchanged": 7}


def test_versions_of_different_classes_are_judged_by_class_name():
    # b learned (dog, cat) in another order and no fox: class ids differ, names decide
    b = predictions(["dog", "cat"], [("h1", "cat", [0.1, 0.9]), ("h2", "cat", [0.9, 0.1]), ("h3", "dog", [0.3, 0.7])])
    changes = verdict_changes(A, b, limit=10)
    assert changes.shared == 3
    assert changes.counts == {"fixed": 0, "broken": 1, "changed": 0, "unchanged": 2}
    assert changes.images["broken"][0].content_hash == "h3"


def _metrics(accuracy, top5, per_class):
    return {"accuracy": accuracy, "macro_f1": accuracy - 0.1, "top_k_accuracy": {"1": accuracy, "5": top5},
            "cohen_kappa": None, "per_class": {name: {"support": 10, "precision": p, "recall": r, "f1": f}
                                               for name, (p, r, f) in per_class.items()}}


def test_metrics_side_by_side_with_deltas_b_minus_a_over_the_shared_classes():
    a = _metrics(0.8, 0.95, {"cat": (0.9, 0.8, 0.85), "dog": (0.7, 0.8, 0.75), "fox": (0.5, 0.5, 0.5)})
    b = _metrics(0.85, 1.0, {"dog": (0.75, 0.7, 0.72), "cat": (0.9, 0.9, 0.9), "owl": (1.0, 1.0, 1.0)})
    compared = compare_metrics(a, b, ["cat", "dog", "fox"], ["dog", "cat", "owl"])
    assert compared.overall["accuracy"].delta == pytest.approx(0.05)
    assert (compared.overall["top5"].a, compared.overall["top5"].b) == (0.95, 1.0)
    assert compared.overall["cohen_kappa"].delta is None  # undefined in both: no delta
    assert compared.shared_classes == ["cat", "dog"] and compared.only_a == ["fox"] and compared.only_b == ["owl"]
    assert "2 shared" in compared.note
    cat, dog = compared.per_class
    assert cat.name == "cat" and cat.metrics["recall"].delta == pytest.approx(0.1)
    assert dog.metrics["precision"].delta == pytest.approx(0.05) and dog.metrics["recall"].delta == pytest.approx(-0.1)
    assert compare_metrics(a, a, ["cat"], ["cat"]).note is None


def test_config_differences_list_only_the_options_that_differ():
    a = {"epochs": 10, "lr": 0.01, "model": "efficientnet_lite0", "mixup": 0.2}
    b = {"epochs": 20, "lr": 0.01, "model": "efficientnet_lite0", "cutmix": 1.0}
    assert config_differences(a, b) == {"cutmix": {"a": None, "b": 1.0}, "epochs": {"a": 10, "b": 20},
                                        "mixup": {"a": 0.2, "b": None}}
