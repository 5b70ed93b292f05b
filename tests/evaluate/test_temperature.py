"""The temperature fit: recovers a known temperature, lowers NLL and ECE, stays finite on degenerate splits."""

import numpy as np
import pytest

from classmill.evaluate.temperature import fit_temperature, negative_log_likelihood
from classmill.infer.calibration import MAX_TEMPERATURE, MIN_TEMPERATURE, softmax


def _calibrated_logits(n=4000, classes=5, seed=0):
    """Logits whose softmax is the true label distribution: labels drawn from it, so T = 1 is right."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, classes)) * 2.5
    probs = softmax(logits)
    labels = (rng.random((n, 1)) > probs.cumsum(axis=1)).sum(axis=1)
    return logits, labels


@pytest.mark.parametrize("scale", [3.0, 0.4])
def test_fit_recovers_a_known_temperature_and_lowers_nll_and_ece(scale):
    logits, labels = _calibrated_logits()
    fit = fit_temperature(logits * scale, labels)  # over-confident (x3) or under-confident (x0.4) by `scale`
    assert fit.temperature == pytest.approx(scale, rel=0.05) and not fit.clamped
    assert fit.images == len(labels)
    assert fit.nll_after < fit.nll_before - 0.01
    assert fit.nll_after == pytest.approx(negative_log_likelihood(logits * scale, labels, fit.temperature))
    assert fit.ece_after < 0.03 < fit.ece_before
    # The minimum: a little either side is worse.
    for other in (fit.temperature * 0.97, fit.temperature * 1.03):
        assert negative_log_likelihood(logits * scale, labels, other) > fit.nll_after


def test_fit_is_deterministic_and_its_json_is_calibration_json():
    logits, labels = _calibrated_logits(n=500, seed=3)
    first, second = fit_temperature(logits * 2, labels), fit_temperature(logits * 2, labels)
    assert first == second
    document = first.to_json("val")
    assert document["method"] == "temperature" and document["fitted_on"] == "val" and document["images"] == 500
    assert {"temperature", "ece_before", "ece_after", "nll_before", "nll_after", "clamped"} <= set(document)


def test_a_split_without_mistakes_is_clamped_to_the_smallest_temperature():
    labels = np.array([0, 1, 2, 0, 1])
    logits = np.eye(3)[labels] * 4.0  # every image right: sharper is always better on it
    fit = fit_temperature(logits, labels)
    assert fit.temperature == MIN_TEMPERATURE and fit.clamped


def test_a_split_that_is_always_wrong_is_clamped_to_the_largest_temperature():
    labels = np.array([0, 1, 2, 0, 1])
    logits = np.eye(3)[(labels + 1) % 3] * 4.0  # confidently wrong everywhere: flatter is always better
    fit = fit_temperature(logits, labels)
    assert fit.temperature == MAX_TEMPERATURE and fit.clamped and fit.nll_after < fit.nll_before


def test_logits_without_scale_keep_temperature_one():
    fit = fit_temperature(np.zeros((4, 3)), np.array([0, 1, 2, 0]))
    assert fit.temperature == 1.0 and not fit.clamped


@pytest.mark.parametrize("logits, labels", [(np.zeros((0, 3)), np.zeros(0)), (np.zeros((2, 3)), np.zeros(3)),
                                            (np.array([[0.0, np.nan]]), np.array([0]))])
def test_bad_input_is_refused(logits, labels):
    with pytest.raises(ValueError):
        fit_temperature(logits, labels)
