"""The published models loaded in this process: loaded on first request, at most `capacity` kept.

Loading a bundle builds an ONNX Runtime session (tens to hundreds of MB, up to seconds), so it
happens once per endpoint and model, not per request, and the least recently used model is
unloaded when one more is needed. An entry is keyed by the endpoint's name and its model key
(version, bundle, thresholds): a request that finds another key (the endpoint now serves other
thresholds or another version) loads again and retires the old entry.

A retired entry may still be answering requests: it is leased, and only when its last lease ends
is it handed back to the caller to be discarded (its batcher stopped). So a model is never torn
down under a request, and none lingers after its requests end.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Generic, Hashable, TypeVar

Model = TypeVar("Model")


@dataclass(eq=False)
class Lease(Generic[Model]):
    """One request's hold on a loaded model; give it back with PredictorCache.release."""

    name: str
    key: Hashable
    model: Model
    holders: int = 0
    retired: bool = False
    released: bool = field(default=False, repr=False)


class PredictorCache(Generic[Model]):
    """Thread-safe LRU of loaded models by endpoint name. acquire/release/invalidate return the models
    that just became unused and retired, for the caller to discard (stop their batchers)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.loads = 0  # models loaded so far (a test and an operator can see reuse)
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Lease[Model]] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}

    def acquire(self, name: str, key: Hashable, load: Callable[[], Model]) -> tuple[Lease[Model], list[Model]]:
        """A lease on endpoint `name`'s model with `key`, loading it with load() when it is not held.

        Blocks while another thread loads the same name (one load per name at a time); the load
        itself runs outside the cache's lock, so other endpoints are served meanwhile.
        """
        hit = self._hold(name, key)
        if hit is not None:
            return hit, []
        with self._lock:
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:
            hit = self._hold(name, key)  # loaded by the thread we waited for
            if hit is not None:
                return hit, []
            model = load()
            with self._lock:
                self.loads += 1
                entry = Lease(name, key, model, holders=1)
                unused = self._retire(self._entries.pop(name, None))
                self._entries[name] = entry
                while len(self._entries) > self.capacity:
                    _, oldest = self._entries.popitem(last=False)
                    unused += self._retire(oldest)
                return entry, unused

    def _hold(self, name: str, key: Hashable) -> Lease[Model] | None:
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.key != key:
                return None
            self._entries.move_to_end(name)
            entry.holders += 1
            return entry

    def release(self, lease: Lease[Model]) -> list[Model]:
        with self._lock:
            lease.holders -= 1
            if lease.retired and lease.holders == 0 and not lease.released:
                lease.released = True
                return [lease.model]
            return []

    def invalidate(self, name: str) -> list[Model]:
        """Unload endpoint `name`'s model (unpublished): now if unused, else when its last request ends."""
        with self._lock:
            loading = self._loading.get(name)
            if loading is not None and not loading.locked():
                del self._loading[name]
            return self._retire(self._entries.pop(name, None))

    def _retire(self, entry: Lease[Model] | None) -> list[Model]:
        if entry is None:
            return []
        entry.retired = True
        if entry.holders == 0 and not entry.released:
            entry.released = True
            return [entry.model]
        return []

    def loaded(self) -> list[str]:
        """Names with a loaded model, least recently used first."""
        with self._lock:
            return list(self._entries)
