"""Failed-login counting per (username, client address), in this process's memory.

In memory is enough for one server process (the embedded default). Several processes behind a
load balancer would each count separately, allowing N times the attempts; that setup needs a
shared counter (database or Redis) and is not built yet.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Callable

# Above this many tracked pairs, pairs with no failure inside the window are dropped, so a flood
# of made-up usernames cannot grow memory without bound.
_PRUNE_AT = 10_000


class LoginLimiter:
    """At most `attempts` failed logins per (username, address) within `window_s` seconds."""

    def __init__(self, attempts: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts, self.window_s, self._clock = attempts, window_s, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        with self._lock:
            failures = self._recent(self._key(username, address))
            if len(failures) < self.attempts:
                return 0
            return max(1, math.ceil(failures[0] + self.window_s - self._clock()))

    def failed(self, username: str, address: str) -> None:
        with self._lock:
            if len(self._failures) >= _PRUNE_AT:
                self._prune()
            self._failures.setdefault(self._key(username, address), deque()).append(self._clock())

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self._key(username, address), None)

    @staticmethod
    def _key(username: str, address: str) -> tuple[str, str]:
        return username.strip().lower(), address

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key, deque())
        cutoff = self._clock() - self.window_s
        while failures and failures[0] <= cutoff:
            failures.popleft()
        return failures

    def _prune(self) -> None:
        for key in list(self._failures):
            if not self._recent(key):
                del self._failures[key]
