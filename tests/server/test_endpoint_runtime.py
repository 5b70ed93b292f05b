"""The published endpoints' runtime pieces on their own: the bounded model cache (leases, retirement,
one load per name at a time) and the in-memory request statistics (thread-safe, nothing lost on a
failed flush)."""

from __future__ import annotations

import threading
import time

import pytest

from classmill.server.serving.predictors import PredictorCache
from classmill.server.serving.stats import EndpointStats


class _Model:
    def __init__(self, name: str) -> None:
        self.name = name


def _loader(name: str, log: list[str], delay: float = 0.0):
    def load() -> _Model:
        time.sleep(delay)
        log.append(name)
        return _Model(name)
    return load


def test_the_cache_keeps_at_most_capacity_models_and_unloads_the_least_recently_used():
    cache: PredictorCache[_Model] = PredictorCache(capacity=2)
    loaded: list[str] = []
    unused_total = []
    for name in ("a", "b", "a", "c"):
        lease, unused = cache.acquire(name, 1, _loader(name, loaded))
        unused_total += unused
        unused_total += cache.release(lease)
    assert loaded == ["a", "b", "c"]  # "a" was reused
    assert cache.loaded() == ["a", "c"]  # "b" was the least recently used
    assert [m.name for m in unused_total] == ["b"]  # handed back once, to be discarded


def test_a_model_in_use_is_handed_back_only_when_its_last_request_ends():
    cache: PredictorCache[_Model] = PredictorCache(capacity=1)
    loaded: list[str] = []
    first, _ = cache.acquire("a", "v1", _loader("a1", loaded))
    second, _ = cache.acquire("a", "v1", _loader("never", loaded))
    assert first is second and loaded == ["a1"]
    # the key changed (new thresholds): a new model, the old one retired but still answering two requests
    newer, unused = cache.acquire("a", "v2", _loader("a2", loaded))
    assert unused == [] and newer.model.name == "a2" and first.retired
    assert cache.release(first) == []
    assert [m.name for m in cache.release(second)] == ["a1"]
    assert cache.invalidate("a") == []  # still held by `newer`
    assert cache.loaded() == []
    assert [m.name for m in cache.release(newer)] == ["a2"]
    assert cache.invalidate("a") == []  # nothing twice


def test_concurrent_requests_for_one_endpoint_load_its_model_once():
    cache: PredictorCache[_Model] = PredictorCache(capacity=4)
    loaded: list[str] = []
    leases = []

    def request() -> None:
        lease, _ = cache.acquire("a", 1, _loader("a", loaded, delay=0.2))
        leases.append(lease)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert loaded == ["a"] and len({id(lease) for lease in leases}) == 1 and leases[0].holders == 8


def test_a_failed_load_leaves_nothing_behind():
    cache: PredictorCache[_Model] = PredictorCache(capacity=2)

    def broken() -> _Model:
        raise OSError("bundle gone")

    with pytest.raises(OSError):
        cache.acquire("a", 1, broken)
    assert cache.loaded() == [] and cache.loads == 0
    lease, _ = cache.acquire("a", 1, _loader("a", []))
    assert lease.model.name == "a"


def test_stats_count_exactly_across_threads_and_survive_a_failed_flush():
    stats = EndpointStats(recent=100)

    def record(n: int) -> None:
        for i in range(n):
            stats.record(7, float(i % 10), error=i % 4 == 0)

    threads = [threading.Thread(target=record, args=(1000,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    live = stats.unflushed(7)
    assert (live.requests, live.errors, live.latency_ms_sum) == (4000, 1000, 4 * 100 * 45.0)
    taken = stats.take()
    assert taken[7].requests == 4000 and stats.unflushed(7).requests == 0  # percentiles stay, counts go
    assert 0 <= taken[7].latency_p50_ms <= taken[7].latency_p99_ms <= 9
    stats.record(7, 1.0, error=False)
    stats.put_back(taken)  # the database was away: counted again at the next flush
    again = stats.take()[7]
    assert (again.requests, again.errors) == (4001, 1000) and stats.take() == {}
    stats.forget(7)
    assert stats.unflushed(7) is None
