"""Learning rate as a pure function of training progress: nothing to checkpoint, exact on resume.

A run's schedule is a list of segments [start_epoch, end_epoch, peak_lr]: the first is the
original run (warmup then cosine or step decay); --extend appends a short warm restart.
"""

from __future__ import annotations

import math

_FINAL_FRACTION = 0.01  # cosine ends at 1 % of the peak, not at zero


def lr_at(progress: float, schedule: list, scheduler: str, warmup_epochs: float) -> float:
    """Learning rate at `progress` epochs (fractional) into the run."""
    for index, (start, end, peak) in enumerate(schedule):
        if progress < end or index == len(schedule) - 1:
            span = max(end - start, 1e-9)
            t = min(max(progress - start, 0.0), span)
            # Only the first segment warms up from zero; a restart starts at its (lower) peak.
            warm = warmup_epochs if index == 0 else 0.0
            if warm > 0 and t < warm:
                return peak * (t + 1e-3) / warm
            frac = (t - warm) / max(span - warm, 1e-9)
            if scheduler == "step":
                return peak * (0.1 ** math.floor(frac * 3 - 1e-9)) if frac > 0 else peak
            floor = peak * _FINAL_FRACTION
            return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
    raise ValueError("empty schedule")
