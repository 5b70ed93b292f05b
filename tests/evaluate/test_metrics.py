"""Every reported metric equals scikit-learn's on fixed predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    top_k_accuracy_score,
)

from classmill.evaluate.inputs import validate_predictions
from classmill.evaluate.metrics import (
    NO_IMAGES_REASON,
    compute_class_metrics,
    compute_confusion,
    compute_overall_metrics,
)

from .conftest import ANIMAL_PRED


@pytest.mark.filterwarnings("ignore:'k' .* greater than or equal to 'n_classes'")
def test_overall_metrics_match_sklearn(animals):
    y_true, probs, names = animals
    predictions = validate_predictions(y_true, probs, names)
    y_pred = probs.argmax(axis=1)
    assert list(y_pred) == ANIMAL_PRED
    overall = compute_overall_metrics(predictions)
    present = [0, 1, 2]  # fish and frog have no images

    assert overall.n_images == 11
    assert overall.n_classes_present == 3
    assert overall.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert sorted(overall.top_k_accuracy) == [1, 2, 3, 4, 5]
    for k, value in overall.top_k_accuracy.items():
        assert value == pytest.approx(top_k_accuracy_score(y_true, probs, k=k, labels=range(5))), k
    macro = precision_recall_fscore_support(y_true, y_pred, labels=present, average="macro", zero_division=0)
    weighted = precision_recall_fscore_support(y_true, y_pred, labels=present, average="weighted", zero_division=0)
    assert (overall.macro_precision, overall.macro_recall, overall.macro_f1) == pytest.approx(macro[:3])
    assert (overall.weighted_precision, overall.weighted_recall, overall.weighted_f1) == pytest.approx(weighted[:3])
    assert overall.cohen_kappa == pytest.approx(cohen_kappa_score(y_true, y_pred, labels=range(5)))
    expected_auc = np.mean([roc_auc_score(y_true == c, probs[:, c]) for c in present])
    assert overall.macro_auc == pytest.approx(expected_auc)
    assert "3 classes present" in overall.macro_auc_reason


def test_per_class_metrics_match_sklearn_and_mark_undefined_values(animals):
    y_true, probs, names = animals
    rows = compute_class_metrics(validate_predictions(y_true, probs, names))
    y_pred = probs.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=range(5), average=None, zero_division=0
    )
    by_name = {row.name: row for row in rows}
    for index, name in enumerate(["cat", "dog"]):
        row = by_name[name]
        assert row.support == support[index]
        assert (row.precision, row.recall, row.f1) == pytest.approx((precision[index], recall[index], f1[index]))
        assert row.auc == pytest.approx(roc_auc_score(y_true == index, probs[:, index]))

    bird = by_name["bird"]  # has images, never predicted: precision 0 by zero_division, and says so
    assert bird.predicted == 0 and bird.support == 3
    assert bird.precision == 0.0 and bird.recall == 0.0 and bird.f1 == 0.0
    assert any("zero_division" in note for note in bird.notes)
    assert bird.auc == pytest.approx(roc_auc_score(y_true == 2, probs[:, 2]))

    fish = by_name["fish"]  # no images but predicted once: that prediction is wrong
    assert (fish.support, fish.predicted, fish.precision) == (0, 1, 0.0)
    assert fish.recall is None and fish.f1 is None
    assert fish.auc is None and fish.auc_reason == NO_IMAGES_REASON

    frog = by_name["frog"]  # nothing at all to measure
    assert (frog.support, frog.predicted) == (0, 0)
    assert frog.precision is None and frog.recall is None and frog.auc is None


def test_confusion_matrix_matches_sklearn_with_empty_rows_as_nan(animals):
    y_true, probs, names = animals
    confusion = compute_confusion(validate_predictions(y_true, probs, names))
    y_pred = probs.argmax(axis=1)
    np.testing.assert_array_equal(confusion.counts, confusion_matrix(y_true, y_pred, labels=range(5)))
    expected = confusion_matrix(y_true, y_pred, labels=range(5), normalize="true")
    np.testing.assert_allclose(confusion.row_normalised[:3], expected[:3])
    assert np.isnan(confusion.row_normalised[3:]).all()
    assert confusion.most_confused_pairs(2) == [("bird", "dog", 2), ("cat", "dog", 1)]
    assert confusion.most_confused_pairs(10) == [("bird", "dog", 2), ("cat", "dog", 1), ("dog", "cat", 1),
                                                 ("dog", "fish", 1), ("bird", "cat", 1)]


def test_binary_metrics_match_sklearn(ok_ng):
    y_true, probs, names = ok_ng
    predictions = validate_predictions(y_true, probs, names)
    overall = compute_overall_metrics(predictions)
    y_pred = probs.argmax(axis=1)
    assert overall.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert overall.top_k_accuracy == {1: pytest.approx(accuracy_score(y_true, y_pred)), 2: 1.0}
    assert overall.macro_auc == pytest.approx(roc_auc_score(y_true, probs[:, 1]))
    assert overall.macro_auc_reason is None
    assert overall.cohen_kappa == pytest.approx(cohen_kappa_score(y_true, y_pred))
    macro = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    assert (overall.macro_precision, overall.macro_recall, overall.macro_f1) == pytest.approx(macro[:3])
    rows = compute_class_metrics(predictions)
    binary = precision_recall_fscore_support(y_true, y_pred, average="binary", pos_label=1, zero_division=0)
    assert (rows[1].precision, rows[1].recall, rows[1].f1) == pytest.approx(binary[:3])
    assert rows[0].auc == pytest.approx(rows[1].auc)  # p(ok) = 1 - p(ng): same ranking


def test_all_classes_present_macro_auc_equals_sklearn_ovr():
    rng = np.random.default_rng(3)
    y_true = np.tile(np.arange(4), 10)
    probs = rng.dirichlet(np.ones(4), size=40)
    overall = compute_overall_metrics(validate_predictions(y_true, probs, ["a", "b", "c", "d"]))
    assert overall.macro_auc == pytest.approx(roc_auc_score(y_true, probs, multi_class="ovr", average="macro"))


def test_single_class_split_reports_auc_and_kappa_as_not_available():
    y_true = np.zeros(5, dtype=int)
    probs = np.array([[0.9, 0.1, 0.0]] * 4 + [[0.2, 0.7, 0.1]])
    predictions = validate_predictions(y_true, probs, ["a", "b", "c"])
    overall = compute_overall_metrics(predictions)
    assert overall.macro_auc is None and "only one class" in overall.macro_auc_reason
    assert overall.accuracy == pytest.approx(0.8)
    rows = compute_class_metrics(predictions)
    assert rows[0].auc is None and "only class" in rows[0].auc_reason
    assert rows[1].auc is None and rows[1].auc_reason == NO_IMAGES_REASON

    all_right = validate_predictions(y_true[:4], probs[:4], ["a", "b", "c"])
    kappa_overall = compute_overall_metrics(all_right)
    assert kappa_overall.cohen_kappa is None and kappa_overall.cohen_kappa_reason
