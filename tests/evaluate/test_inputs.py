"""Bad predictions are refused with a message that says how to fix them."""

from __future__ import annotations

import numpy as np
import pytest

from classmill.errors import DatasetError, UserError
from classmill.evaluate.inputs import validate_predictions

GOOD = np.array([[0.7, 0.3], [0.2, 0.8]])


@pytest.mark.parametrize(
    ("y_true", "probs", "names", "paths", "message"),
    [
        ([0, 1], GOOD, ["only"], None, "at least 2 classes"),
        ([0, 1], GOOD, ["a", "a"], None, "unique"),
        ([], np.zeros((0, 2)), ["a", "b"], None, "no images"),
        ([0, 2], GOOD, ["a", "b"], None, "different class lists"),
        ([0.5, 1], GOOD, ["a", "b"], None, "integer class indices"),
        ([0, 1], GOOD[:, :1], ["a", "b"], None, "shape"),
        ([0, 1], np.array([[2.0, -1.0], [0.2, 0.8]]), ["a", "b"], None, "logits"),
        ([0, 1], np.array([[0.7, 0.7], [0.2, 0.8]]), ["a", "b"], None, "softmax"),
        ([0, 1], np.array([[np.nan, 0.3], [0.2, 0.8]]), ["a", "b"], None, "NaN"),
        ([0, 1], GOOD, ["a", "b"], ["one.jpg"], "one path per image"),
    ],
)
def test_refused_with_a_fix(y_true, probs, names, paths, message):
    with pytest.raises(DatasetError, match=message) as raised:
        validate_predictions(y_true, probs, names, paths)
    assert isinstance(raised.value, UserError)


def test_accepts_lists_and_integral_floats():
    predictions = validate_predictions([0.0, 1.0], GOOD.tolist(), ("a", "b"), ["x.jpg", "y.jpg"])
    assert predictions.y_true.dtype == np.int64
    assert list(predictions.y_pred) == [0, 1]
    assert predictions.image_paths == ["x.jpg", "y.jpg"]
