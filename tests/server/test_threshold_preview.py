"""The threshold what-if on hand-made predictions: exact counts, the rounding margin, and a brute-force check."""

from __future__ import annotations

import numpy as np
import pytest

from classmill.server.services.model_predictions import SplitPredictions
from classmill.server.services.threshold_preview import ThresholdTable

CLASSES = ["cat", "dog", "fox", "owl"]  # owl: no images and never predicted
ROWS = [  # (hash, label, probs): top-1 and whether it is right in the comment
    ("h1", "cat", [0.9, 0.05, 0.05, 0.0]),  # cat 0.9 right
    ("h2", "cat", [0.6, 0.3, 0.1, 0.0]),  # cat 0.6 right
    ("h3", "cat", [0.2, 0.7, 0.1, 0.0]),  # dog 0.7 wrong
    ("h4", "dog", [0.1, 0.8, 0.1, 0.0]),  # dog 0.8 right
    ("h5", "dog", [0.55, 0.4, 0.05, 0.0]),  # cat 0.55 wrong
    ("h6", "dog", [0.3, 0.4, 0.3, 0.0]),  # dog 0.4 right
    ("h7", "fox", [0.1, 0.1, 0.8, 0.0]),  # fox 0.8 right
]


def predictions(rows=ROWS, classes=CLASSES) -> SplitPredictions:
    return SplitPredictions.from_json({"classes": classes, "images": [{"hash": h, "label": label, "probs": p}
                                                                      for h, label, p in rows]})


def test_at_zero_every_top1_answer_is_given():
    preview = ThresholdTable(predictions()).preview("val", {}, {})
    cat, dog, fox, owl = preview.classes
    assert (cat.predicted, cat.answered, cat.correct, cat.uncertain) == (3, 3, 2, 0)
    assert cat.precision == pytest.approx(2 / 3) and cat.recall == pytest.approx(2 / 3) and cat.coverage == 1
    assert (dog.support, dog.predicted, dog.correct) == (3, 3, 2)
    assert (fox.precision, fox.recall) == (1, 1)
    assert (owl.support, owl.predicted, owl.coverage, owl.precision, owl.recall) == (0, 0, None, None, None)
    assert (preview.overall.answered, preview.overall.uncertain, preview.overall.coverage) == (7, 0, 1)
    assert preview.overall.accuracy == pytest.approx(5 / 7)


def test_a_class_threshold_turns_its_low_answers_uncertain_and_leaves_other_classes_alone():
    table = ThresholdTable(predictions())
    preview = table.preview("val", {"cat": 0.58, "dog": 0.5, "fox": 0.9}, {"cat": 0.61})
    cat, dog, fox, _ = preview.classes
    # cat: 0.55 (a dog) drops out -> only right answers left
    assert (cat.answered, cat.uncertain, cat.correct, cat.precision) == (2, 1, 2, 1.0)
    assert cat.recall == pytest.approx(2 / 3) and cat.coverage == pytest.approx(2 / 3)
    # dog: 0.4 (a right one) drops out; 0.7 (a cat) stays
    assert (dog.answered, dog.uncertain, dog.correct, dog.precision) == (2, 1, 1, 0.5)
    assert dog.recall == pytest.approx(1 / 3)
    assert (fox.answered, fox.precision, fox.recall, fox.coverage) == (0, None, 0.0, 0.0)
    assert (preview.overall.answered, preview.overall.uncertain) == (4, 3)
    assert preview.overall.accuracy == pytest.approx(3 / 4) and preview.overall.coverage == pytest.approx(4 / 7)
    # the suggested point: cat at 0.61 keeps only 0.9; a class without one is at 0
    suggested_cat, suggested_dog = preview.suggested[:2]
    assert (suggested_cat.threshold, suggested_cat.answered, suggested_cat.recall) == (0.61, 1, pytest.approx(1 / 3))
    assert (suggested_dog.threshold, suggested_dog.answered) == (0.0, 3)


def test_an_image_right_at_its_threshold_is_answered_despite_six_decimal_rounding():
    table = ThresholdTable(predictions())
    assert table.point("cat", 0.6).answered == 2  # 0.6 >= 0.6
    assert table.point("cat", 0.6000004).answered == 2  # stored 0.600000 may be 0.6000004 before rounding
    assert table.point("cat", 0.600002).answered == 1
    assert table.point("cat", 1.0).answered == 0 and table.point("cat", 0.0).answered == 3


def test_the_table_agrees_with_a_brute_force_count_on_random_predictions():
    rng = np.random.default_rng(7)
    classes = [f"c{i}" for i in range(6)]
    probs = rng.dirichlet(np.ones(6) * 0.7, size=500).round(6)
    labels = rng.integers(0, 6, size=500)
    rows = [(f"h{i}", classes[labels[i]], probs[i].tolist()) for i in range(500)]
    table = ThresholdTable(predictions(rows, classes))
    top1, confidence = probs.argmax(1), probs.max(1)
    for threshold in rng.uniform(0, 1, size=25):
        for index, name in enumerate(classes):
            mine = top1 == index
            answered = mine & (confidence >= threshold)
            correct = answered & (labels == index)
            point = table.point(name, float(threshold))
            assert (point.predicted, point.answered, point.correct) == (mine.sum(), answered.sum(), correct.sum())
            assert point.support == (labels == index).sum()


def test_predictions_naming_a_label_outside_their_classes_are_refused():
    with pytest.raises(ValueError, match="outside their classes"):
        predictions([("h1", "wolf", [0.5, 0.5, 0.0, 0.0])])


def test_an_empty_split_previews_without_dividing_by_zero():
    preview = ThresholdTable(predictions([])).preview("val", {"cat": 0.5}, {})
    assert preview.overall.n_images == 0 and preview.overall.coverage is None and preview.overall.accuracy is None
    assert all(point.predicted == 0 for point in preview.classes)
