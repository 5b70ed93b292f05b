"""Calibration: does "90 % confident" mean right 90 % of the time?

scikit-learn has no multi-class expected calibration error (its `calibration_curve` is for one
binary score), so ECE is written out here, following Guo et al. 2017 ("On Calibration of
Modern Neural Networks"):

    ECE = sum over bins b of (|b| / N) * |accuracy(b) - mean confidence(b)|

computed on the top-1 confidence (max probability) with equal-width bins (lo, hi] over [0, 1];
a confidence of exactly 0 falls into the first bin. Empty bins contribute nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from classmill.evaluate.inputs import Predictions

DEFAULT_BINS = 15


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    mean_confidence: float | None  # None for an empty bin
    accuracy: float | None


@dataclass(frozen=True)
class Calibration:
    ece: float
    n_bins: int
    bins: list[CalibrationBin]
    mean_confidence: float
    accuracy: float

    @property
    def direction(self) -> str:
        """"overconfident", "underconfident" or "well calibrated" in one word for the summary."""
        gap = self.mean_confidence - self.accuracy
        if abs(gap) < 0.02:
            return "well calibrated"
        return "overconfident" if gap > 0 else "underconfident"


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS
) -> Calibration:
    """ECE and the reliability-diagram bins for top-1 confidences and whether each was right."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bin i holds (edges[i], edges[i+1]]: searchsorted(side="left") puts a value equal to an edge
    # in the bin below it. (ceil(c * n_bins) would not: 0.2 * 15 is 3.0000000000000004.)
    bin_index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    total = confidence.size
    ece = 0.0
    bins = []
    for index in range(n_bins):
        members = bin_index == index
        count = int(members.sum())
        if count == 0:
            bins.append(CalibrationBin(float(edges[index]), float(edges[index + 1]), 0, None, None))
            continue
        mean_confidence = float(confidence[members].mean())
        accuracy = float(correct[members].mean())
        ece += count / total * abs(accuracy - mean_confidence)
        bins.append(CalibrationBin(float(edges[index]), float(edges[index + 1]), count, mean_confidence, accuracy))
    return Calibration(
        ece=float(ece),
        n_bins=n_bins,
        bins=bins,
        mean_confidence=float(confidence.mean()),
        accuracy=float(correct.mean()),
    )


def compute_calibration(predictions: Predictions, n_bins: int = DEFAULT_BINS) -> Calibration:
    return expected_calibration_error(
        predictions.probs.max(axis=1), predictions.y_pred == predictions.y_true, n_bins
    )


@dataclass(frozen=True)
class TemperatureScaling:
    """The temperature the report's probabilities were calibrated with, and the ECE they had before it."""

    temperature: float
    fitted_on: str  # the training run's split it was fitted on ("val")
    fitted_images: int
    clamped: bool  # the fit stopped at a bound of its range (see classmill.evaluate.temperature)
    before: Calibration  # the same images' uncalibrated probabilities, softmax(logits)
    # How many of the report's images the temperature was fitted on; None when it cannot be told
    # (a bundle evaluated on other data). Above 0, the calibrated ECE is measured on its own
    # fitting data and is optimistic.
    overlap: int | None

    def to_json(self) -> dict:
        return {"value": self.temperature, "fitted_on": self.fitted_on, "fitted_images": self.fitted_images,
                "clamped": self.clamped, "images_it_was_fitted_on": self.overlap, "ece_before": self.before.ece,
                "direction_before": self.before.direction, "before": asdict(self.before)}


def temperature_scaling(document: dict, uncalibrated: Predictions, overlap: int | None,
                        n_bins: int = DEFAULT_BINS) -> TemperatureScaling:
    """TemperatureScaling from a calibration.json document and the uncalibrated predictions."""
    return TemperatureScaling(temperature=float(document["temperature"]), fitted_on=str(document.get("fitted_on", "")),
                              fitted_images=int(document.get("images", 0)), clamped=bool(document.get("clamped")),
                              before=compute_calibration(uncalibrated, n_bins), overlap=overlap)
