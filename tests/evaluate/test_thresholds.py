"""Threshold tables and the suggested operating point on cases small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from classmill.errors import ConfigError
from classmill.evaluate.inputs import resolve_positive_class, validate_predictions, validate_target
from classmill.evaluate.thresholds import per_class_tables, suggest_operating_points, top_one_table


def test_top_one_table_by_hand():
    # confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.4 (right)
    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.4, 0.3, 0.3]])
    y_true = np.array([0, 2, 2, 0])
    rows = top_one_table(validate_predictions(y_true, probs, ["a", "b", "c"]), thresholds=(0.0, 0.5, 0.85, 0.95))
    summary = [(r.threshold, r.accepted, r.coverage, r.accuracy, r.recall) for r in rows]
    assert summary == [
        (0.0, 4, 1.0, 0.75, 0.75),
        (0.5, 3, 0.75, pytest.approx(2 / 3), 0.5),
        (0.85, 1, 0.25, 1.0, 0.25),
        (0.95, 0, 0.0, None, 0.0),  # nothing accepted: accuracy undefined, not 0
    ]


def test_per_class_table_by_hand(ok_ng):
    y_true, probs, names = ok_ng
    tables = per_class_tables(validate_predictions(y_true, probs, names), thresholds=(0.0, 0.5, 0.95))
    ng = {row.threshold: row for row in tables["ng"]}
    # p(ng) >= 0.5: 0.9, 0.8, 0.6 (ng) and 0.7 (ok)
    assert (ng[0.5].predicted, ng[0.5].precision, ng[0.5].recall, ng[0.5].false_alarms) == (4, 0.75, 0.75, 1)
    assert (ng[0.0].predicted, ng[0.0].precision, ng[0.0].recall, ng[0.0].false_alarms) == (10, 0.4, 1.0, 6)
    assert (ng[0.95].predicted, ng[0.95].precision, ng[0.95].recall) == (0, None, 0.0)
    ok = {row.threshold: row for row in tables["ok"]}
    # p(ok) >= 0.5 <=> p(ng) <= 0.5: five ok images and the ng image at 0.3
    assert (ok[0.5].predicted, ok[0.5].false_alarms) == (6, 1)
    assert ok[0.5].precision == pytest.approx(5 / 6) and ok[0.5].recall == pytest.approx(5 / 6)


def test_per_class_table_recall_undefined_for_class_without_images():
    probs = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1]])
    tables = per_class_tables(validate_predictions([0, 1], probs, ["a", "b", "c"]), thresholds=(0.05,))
    row = tables["c"][0]
    assert (row.predicted, row.precision, row.recall, row.false_alarms) == (2, 0.0, None, 2)


@pytest.mark.parametrize(
    ("target_recall", "threshold", "precision", "recall", "false_alarms", "missed"),
    [
        (0.75, 0.6, 0.75, 0.75, 1, 1),  # highest threshold keeping 3 of 4 ng
        (1.0, 0.3, 4 / 6, 1.0, 2, 0),
        (0.5, 0.8, 1.0, 0.5, 0, 2),
    ],
)
def test_operating_point_for_target_recall(ok_ng, target_recall, threshold, precision, recall, false_alarms, missed):
    y_true, probs, names = ok_ng
    [point] = suggest_operating_points(validate_predictions(y_true, probs, names), 1, target_recall=target_recall)
    assert point.reachable and point.positive_class == "ng" and point.target == "recall"
    assert point.threshold == pytest.approx(threshold)
    assert point.precision == pytest.approx(precision)
    assert point.recall == pytest.approx(recall)
    assert (point.false_alarms, point.missed) == (false_alarms, missed)
    assert f"{threshold:.4f}" in point.message


def test_operating_point_for_target_precision_takes_lowest_threshold(ok_ng):
    y_true, probs, names = ok_ng
    points = suggest_operating_points(
        validate_predictions(y_true, probs, names), 1, target_recall=0.75, target_precision=0.75
    )
    assert [p.target for p in points] == ["recall", "precision"]
    precision_point = points[1]
    # 0.6 flags 0.9, 0.8, 0.7(ok), 0.6 -> 3/4; anything lower drops below 75 %.
    assert precision_point.threshold == pytest.approx(0.6)
    assert precision_point.recall == pytest.approx(0.75)


def test_unreachable_precision_is_said_plainly():
    scores = np.array([0.9, 0.6, 0.5])  # the two highest scores are negatives
    probs = np.column_stack([1 - scores, scores])
    [point] = suggest_operating_points(validate_predictions([0, 0, 1], probs, ["ok", "ng"]), 1, target_precision=0.5)
    assert not point.reachable and point.threshold is None
    assert "unreachable" in point.message and "33.3 %" in point.message


def test_positive_class_absent_from_split_is_unreachable_not_a_crash():
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])
    [point] = suggest_operating_points(validate_predictions([0, 1], probs, ["a", "b", "c"]), 2, target_recall=0.9)
    assert not point.reachable and "no images" in point.message


def test_positive_class_defaults(ok_ng, animals):
    y_true, probs, names = ok_ng
    predictions = validate_predictions(y_true, probs, names)
    assert resolve_positive_class(predictions, None, needed=True)[0] == 1  # minority
    assert resolve_positive_class(predictions, "ok", needed=True) == (0, None)
    with pytest.raises(ConfigError, match="Did you mean 'ng'"):
        resolve_positive_class(predictions, "NG", needed=True)
    many = validate_predictions(*animals)
    assert resolve_positive_class(many, None, needed=False) == (None, None)
    with pytest.raises(ConfigError, match="needs a positive class"):
        resolve_positive_class(many, None, needed=True)


def test_targets_must_be_fractions():
    assert validate_target("target_recall", None) is None
    assert validate_target("target_recall", 0.9) == 0.9
    with pytest.raises(ConfigError, match="Did you mean 0.95"):
        validate_target("target_recall", 95)
    with pytest.raises(ConfigError):
        validate_target("target_precision", 0.0)


def test_thresholds_to_deploy_prefers_the_precision_point_of_a_report(ok_ng):
    import dataclasses

    from classmill.evaluate.thresholds import thresholds_to_deploy

    y_true, probs, names = ok_ng
    predictions = validate_predictions(y_true, probs, names)
    both = suggest_operating_points(predictions, 1, target_recall=1.0, target_precision=0.75)
    report = {"operating_points": [dataclasses.asdict(p) for p in both]}  # as report.json holds them
    assert [p.threshold for p in both] == [pytest.approx(0.3), pytest.approx(0.6)]
    assert thresholds_to_deploy(report) == {"ng": pytest.approx(0.6)}  # the precision target's
    recall_only = {"operating_points": report["operating_points"][:1]}
    assert thresholds_to_deploy(recall_only) == {"ng": pytest.approx(0.3)}
    unreachable = suggest_operating_points(predictions, 1, target_precision=1.01)
    assert thresholds_to_deploy({"operating_points": [dataclasses.asdict(p) for p in unreachable]}) == {}
    assert thresholds_to_deploy({"operating_points": []}) == {}
