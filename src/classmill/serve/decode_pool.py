"""One bounded pool for every image the service decodes, across all requests.

A 40 MP decode holds ~120 MB for a moment; 64 files in one request, or many requests at once,
must queue for a few decode slots instead of all decoding in parallel.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")


class DecodePool:
    """`max_workers` decoding threads; jobs beyond that wait in a queue, costing no thread."""

    def __init__(self, max_workers: int) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        # Created on first use, so a stopped service (tests reopen apps) starts a fresh one.
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="classmill-decode")
        return self._executor

    async def run(self, fn: Callable[..., T], *args) -> T:
        """fn(*args) in a decode thread (Pillow releases the GIL while decoding)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args))

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
