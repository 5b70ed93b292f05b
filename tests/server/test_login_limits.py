"""The failed-login limiter: per (username, address), a sliding window, success clears, memory bounded."""

from __future__ import annotations

from classmill.server import login_limits
from classmill.server.login_limits import LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_window_slides_and_success_clears():
    clock = Clock()
    limiter = LoginLimiter(attempts=2, window_s=60, clock=clock)
    limiter.failed("Alice", "10.0.0.1")
    clock.now += 10
    limiter.failed("alice", "10.0.0.1")  # same account: names are compared lower-case
    assert limiter.retry_after("ALICE", "10.0.0.1") == 50
    assert limiter.retry_after("alice", "10.0.0.2") == 0  # another address is counted apart
    clock.now += 50.5
    assert limiter.retry_after("alice", "10.0.0.1") == 0  # the first failure left the window
    limiter.failed("alice", "10.0.0.1")
    limiter.succeeded("alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.1") == 0


def test_stale_pairs_are_dropped_when_many_are_tracked(monkeypatch):
    monkeypatch.setattr(login_limits, "_PRUNE_AT", 3)
    clock = Clock()
    limiter = LoginLimiter(attempts=5, window_s=60, clock=clock)
    for name in ("a", "b", "c"):
        limiter.failed(name, "x")
    clock.now += 61
    limiter.failed("d", "x")
    assert set(limiter._failures) == {("d", "x")}
