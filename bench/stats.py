"""The few statistics the report quotes: medians, means and spreads of repeats, latency percentiles, ratios."""

from __future__ import annotations

import math
import statistics


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), without needing numpy."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(position), math.ceil(position)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either side was not measured."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def stdev(values: list[float]) -> float | None:
    """Sample standard deviation (n - 1): the spread between repeats; None below two repeats."""
    return statistics.stdev(values) if len(values) >= 2 else None
