"""Temperature scaling (Guo et al. 2017): one scalar T > 0 so that softmax(logits / T) is calibrated.

Fitted by minimising the negative log-likelihood of held-out labels. Model-free: it takes the
logits, not the model. The NLL is convex in beta = 1/T, so its derivative in beta,

    mean over images of (E_p[z] - z_true)        with p = softmax(beta * z),

rises monotonically, and bisecting on its sign finds the minimum: deterministic, no step size,
no optimiser state. The search is bounded to [MIN_TEMPERATURE, MAX_TEMPERATURE]: a split the
model gets entirely right has its minimum at T -> 0 (sharper is always better on it), so the
result is then the bound and `clamped` says so.

Training with label smoothing (the presets use 0.1) makes a model under-confident: expect T < 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classmill.evaluate.calibration import expected_calibration_error
from classmill.infer.calibration import MAX_TEMPERATURE, METHOD, MIN_TEMPERATURE, softmax

# 60 halvings of log-beta's range (about 6.0 wide) leave an interval of ~5e-18: beyond float64.
_BISECTIONS = 60
# A derivative this small everywhere means the logits carry no scale to fit (e.g. all equal).
_FLAT = 1e-12


@dataclass(frozen=True)
class TemperatureFit:
    temperature: float
    clamped: bool  # the minimum lies at (or beyond) a bound of the search range
    images: int
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float

    def to_json(self, fitted_on: str) -> dict:
        """calibration.json's fields. fitted_on: the split the logits came from ("val")."""
        return {"method": METHOD, "temperature": self.temperature, "fitted_on": fitted_on, "images": self.images,
                "clamped": self.clamped, "bounds": [MIN_TEMPERATURE, MAX_TEMPERATURE],
                "ece_before": self.ece_before, "ece_after": self.ece_after,
                "nll_before": self.nll_before, "nll_after": self.nll_after}


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean -log softmax(logits / T)[label], in float64."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(z)), labels]))


def _slope(z: np.ndarray, labels: np.ndarray, beta: float) -> float:
    """d NLL / d beta at beta = 1/T."""
    p = softmax(beta * z)
    return float(np.mean((p * z).sum(axis=1) - z[np.arange(len(z)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> TemperatureFit:
    """The NLL-minimising temperature for (N, C) logits and (N,) true class indices."""
    z = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if z.ndim != 2 or z.shape[0] == 0 or labels.shape != (z.shape[0],):
        raise ValueError(f"fit_temperature needs (N, C) logits and N labels with N > 0; got {z.shape} and "
                         f"{labels.shape}.")
    if not np.all(np.isfinite(z)):
        raise ValueError("fit_temperature: the logits contain NaN or infinity.")
    lo, hi = np.log(1.0 / MAX_TEMPERATURE), np.log(1.0 / MIN_TEMPERATURE)  # log beta
    slope_lo, slope_hi = _slope(z, labels, np.exp(lo)), _slope(z, labels, np.exp(hi))
    if max(abs(slope_lo), abs(slope_hi)) < _FLAT:
        temperature, clamped = 1.0, False
    elif slope_lo >= 0:  # rising from the start: the minimum is at the smallest beta, the largest T
        temperature, clamped = MAX_TEMPERATURE, True
    elif slope_hi <= 0:  # still falling at the largest beta: separable data, T as small as allowed
        temperature, clamped = MIN_TEMPERATURE, True
    else:
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            if _slope(z, labels, np.exp(mid)) < 0:
                lo = mid
            else:
                hi = mid
        temperature, clamped = float(1.0 / np.exp(0.5 * (lo + hi))), False
    correct = z.argmax(axis=1) == labels

    def ece(t: float) -> float:
        return expected_calibration_error(softmax(z, t).max(axis=1), correct).ece

    return TemperatureFit(temperature=temperature, clamped=clamped, images=int(z.shape[0]),
                          nll_before=negative_log_likelihood(z, labels),
                          nll_after=negative_log_likelihood(z, labels, temperature),
                          ece_before=ece(1.0), ece_after=ece(temperature))
