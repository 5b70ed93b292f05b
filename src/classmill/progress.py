"""Progress of the library's long steps (check, decode cache, head warm-up, calibration,
evaluation, extraction) as plain events, so the CLI, `events.jsonl` and the platform's job
runner all show the same thing.

An event is a dict: {"type": "progress", "phase": "check", "done": 120, "total": 600,
"unit": "images", "elapsed_s": 1.2, "eta_s": 4.8, "rate": 100.0}. The first one is sent at
once (done=0) so a user sees the phase start within the first second; later ones at most every
`min_interval_s`, and always the last one (done == total).
"""

from __future__ import annotations

import time
from typing import Callable

ProgressCallback = Callable[[dict], None]


class PhaseProgress:
    """Counts work done in one phase and reports it through `emit` (None: count silently)."""

    def __init__(self, phase: str, total: int, emit: ProgressCallback | None, *, unit: str = "images",
                 min_interval_s: float = 1.0) -> None:
        self.phase, self.total, self.unit = phase, max(int(total), 0), unit
        self.done = 0
        self._emit = emit
        self._min_interval = min_interval_s
        self._started = time.perf_counter()
        self._last_sent = float("-inf")
        self._send(force=True)

    def advance(self, count: int = 1) -> None:
        self.done = min(self.done + count, self.total) if self.total else self.done + count
        self._send(force=self.total > 0 and self.done >= self.total)

    def finish(self) -> None:
        """Mark the phase complete (sends the final event if advance() has not already)."""
        if self.done < self.total:
            self.done = self.total
            self._send(force=True)

    def _send(self, force: bool) -> None:
        if self._emit is None:
            return
        now = time.perf_counter()
        if not force and now - self._last_sent < self._min_interval:
            return
        self._last_sent = now
        elapsed = now - self._started
        rate = self.done / elapsed if elapsed > 0 and self.done else None
        eta = (self.total - self.done) / rate if rate and self.total else None
        self._emit({"type": "progress", "phase": self.phase, "done": self.done, "total": self.total,
                    "unit": self.unit, "elapsed_s": round(elapsed, 2),
                    "rate": round(rate, 2) if rate else None, "eta_s": round(eta, 1) if eta is not None else None})
