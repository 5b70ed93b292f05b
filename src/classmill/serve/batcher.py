"""Dynamic batching: images from concurrent requests share one ONNX Runtime call.

A request puts its preprocessed image on a queue and awaits a future. One worker takes the
first waiting image, keeps collecting for a short window (or until the batch is full), then runs
the batch in a thread so the event loop keeps accepting requests meanwhile. Under load the
queue refills while ORT runs, so batches grow by themselves; an idle server adds at most the
window to a lone request.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class BatchingStats:
    """What the worker has done; exposed on /health so batching can be observed and tested."""

    ort_calls: int = 0
    images: int = 0
    largest_batch: int = 0
    batch_sizes: dict[int, int] = field(default_factory=dict)  # size -> how many calls had it

    def record(self, size: int) -> None:
        self.ort_calls += 1
        self.images += size
        self.largest_batch = max(self.largest_batch, size)
        self.batch_sizes[size] = self.batch_sizes.get(size, 0) + 1

    def to_dict(self) -> dict:
        return {
            "ort_calls": self.ort_calls,
            "images": self.images,
            "largest_batch": self.largest_batch,
            "mean_batch": round(self.images / self.ort_calls, 3) if self.ort_calls else 0.0,
            "batch_sizes": {str(k): v for k, v in sorted(self.batch_sizes.items())},
        }


@dataclass
class _Pending:
    array: np.ndarray
    future: asyncio.Future


class DynamicBatcher:
    """Merge single-image requests into batched calls of `run_batch` (NCHW -> N x classes)."""

    def __init__(self, run_batch: Callable[[np.ndarray], np.ndarray], *, window_ms: float, max_batch_size: int) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self._run_batch = run_batch
        self._window = max(0.0, window_ms) / 1000.0
        self._max = max_batch_size
        # One ORT call at a time: each call already uses every core via intra-op threads.
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Pending] | None = None
        self._arrived: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self.stats = BatchingStats()

    def _ensure_worker(self) -> None:
        # Started lazily on the loop that serves requests (the one uvicorn or TestClient runs).
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._worker is not None and not self._worker.done():
            return
        self._loop = loop
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classmill-ort")
        self._queue = asyncio.Queue()
        self._arrived = asyncio.Event()
        self._worker = loop.create_task(self._work(), name="classmill-batcher")

    async def submit(self, array: np.ndarray) -> np.ndarray:
        """Classify one preprocessed CHW image; returns its probability row."""
        self._ensure_worker()
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(array, future))
        self._arrived.set()
        return await future

    async def _collect(self) -> list[_Pending]:
        queue, arrived, loop = self._queue, self._arrived, asyncio.get_running_loop()
        items = [await queue.get()]
        deadline = loop.time() + self._window
        while True:
            while len(items) < self._max and not queue.empty():
                items.append(queue.get_nowait())
            remaining = deadline - loop.time()
            if len(items) >= self._max or remaining <= 0:
                return items
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [p for p in await self._collect() if not p.future.done()]  # drop cancelled requests
            if not items:
                continue
            batch = np.stack([p.array for p in items])
            try:
                probs = await loop.run_in_executor(self._executor, self._run_batch, batch)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                for p in items:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            self.stats.record(len(items))
            for p, row in zip(items, probs):
                if not p.future.done():
                    p.future.set_result(row)

    async def stop(self) -> None:
        """Stop the worker and its thread (a later submit starts fresh ones)."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except (asyncio.CancelledError, RuntimeError):  # RuntimeError: worker of another loop
                pass
            self._worker = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
