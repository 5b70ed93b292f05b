"""Expected calibration error on hand-computed cases (it is the one metric not from scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest

from classmill.evaluate.calibration import compute_calibration, expected_calibration_error
from classmill.evaluate.inputs import validate_predictions


def test_ece_by_hand():
    # Bin (0.933, 1]: confidence 0.95, accuracy 0.5 -> gap 0.45, half the images.
    # Bin (0.533, 0.6]: confidence 0.55, accuracy 1.0 -> gap 0.45, half the images.
    calibration = expected_calibration_error(np.array([0.95, 0.95, 0.55, 0.55]), np.array([1, 0, 1, 1]))
    assert calibration.ece == pytest.approx(0.45)
    assert calibration.n_bins == 15 and len(calibration.bins) == 15
    filled = [b for b in calibration.bins if b.count]
    assert [(b.count, b.mean_confidence, b.accuracy) for b in filled] == [
        (2, pytest.approx(0.55), 1.0),
        (2, pytest.approx(0.95), 0.5),
    ]
    assert calibration.bins[0].mean_confidence is None  # empty bins carry no made-up numbers


def test_perfectly_calibrated_bin_has_zero_error():
    calibration = expected_calibration_error(np.full(5, 0.8), np.array([1, 1, 1, 1, 0]))
    assert calibration.ece == pytest.approx(0.0)
    assert calibration.direction == "well calibrated"


def test_bins_are_right_closed_including_float_edges():
    # 0.2 is an edge (3/15): it belongs to (0.1333, 0.2], not the bin above; 0 and 1 stay in range.
    calibration = expected_calibration_error(np.array([0.0, 0.2, 1.0]), np.array([0, 1, 1]))
    assert [calibration.bins[i].count for i in (0, 2, 3, 14)] == [1, 1, 0, 1]


def test_direction_from_predictions():
    probs = np.array([[0.99, 0.01], [0.99, 0.01], [0.99, 0.01], [0.01, 0.99]])
    calibration = compute_calibration(validate_predictions([0, 1, 1, 1], probs, ["a", "b"]))
    # 99 % confident, right half the time
    assert calibration.direction == "overconfident"
    assert calibration.ece == pytest.approx(0.49)
