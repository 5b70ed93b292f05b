"""Per-endpoint request counts and latencies, kept in memory and added to the database now and then.

A database write per prediction would cap an endpoint at the database's commit rate (and make
SQLite's single writer a queue for every request); instead each answered request is counted here,
under a lock, and `take()` hands the totals since the last flush to services.deployments.add_stats.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from classmill.server.db.base import utc_now
from classmill.server.services.deployments import StatsDelta

RECENT_REQUESTS = 1000  # p50/p99 are over this many of an endpoint's latest requests


@dataclass
class _Pending:
    requests: int = 0
    errors: int = 0
    latency_ms_sum: float = 0.0
    last_request_at: datetime | None = None


def latency_percentiles(latencies) -> tuple[float | None, float | None]:
    if not latencies:
        return None, None
    p50, p99 = np.percentile(np.fromiter(latencies, dtype=np.float64), [50, 99])
    return round(float(p50), 3), round(float(p99), 3)


class EndpointStats:
    """Thread-safe: requests are recorded from the event loop, flushed from a worker thread."""

    def __init__(self, recent: int = RECENT_REQUESTS) -> None:
        self._lock = threading.Lock()
        self._recent_size = recent
        self._pending: dict[int, _Pending] = {}
        self._recent: dict[int, deque[float]] = {}

    def record(self, endpoint_id: int, latency_ms: float, error: bool) -> None:
        with self._lock:
            pending = self._pending.setdefault(endpoint_id, _Pending())
            pending.requests += 1
            pending.errors += int(error)
            pending.latency_ms_sum += latency_ms
            pending.last_request_at = utc_now()
            self._recent.setdefault(endpoint_id, deque(maxlen=self._recent_size)).append(latency_ms)

    def take(self) -> dict[int, StatsDelta]:
        """Everything recorded since the last take (and the recent percentiles), leaving nothing pending."""
        with self._lock:
            pending, self._pending = self._pending, {}
            return {endpoint_id: StatsDelta(p.requests, p.errors, p.latency_ms_sum, p.last_request_at,
                                            *latency_percentiles(self._recent.get(endpoint_id)))
                    for endpoint_id, p in pending.items()}

    def put_back(self, deltas: dict[int, StatsDelta]) -> None:
        """A flush that failed (database away): its counts wait for the next one instead of being lost."""
        with self._lock:
            for endpoint_id, delta in deltas.items():
                pending = self._pending.setdefault(endpoint_id, _Pending())
                pending.requests += delta.requests
                pending.errors += delta.errors
                pending.latency_ms_sum += delta.latency_ms_sum
                if pending.last_request_at is None or pending.last_request_at < delta.last_request_at:
                    pending.last_request_at = delta.last_request_at

    def unflushed(self, endpoint_id: int) -> StatsDelta | None:
        """What this process counted for the endpoint and has not flushed yet (None: nothing since the last flush)."""
        with self._lock:
            pending = self._pending.get(endpoint_id)
            recent = latency_percentiles(self._recent.get(endpoint_id))
            if pending is None:
                return None if recent == (None, None) else StatsDelta(0, 0, 0.0, None, *recent)
            return StatsDelta(pending.requests, pending.errors, pending.latency_ms_sum, pending.last_request_at,
                              *recent)

    def forget(self, endpoint_id: int) -> None:
        """An unpublished endpoint: nothing of it is kept or flushed."""
        with self._lock:
            self._pending.pop(endpoint_id, None)
            self._recent.pop(endpoint_id, None)
