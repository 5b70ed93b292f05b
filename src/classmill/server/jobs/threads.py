"""Background work inside the server process: one worker thread running dataset imports in order.

Why a thread and not a subprocess: an import is the library's check (itself threaded, bounded by
pixel and archive limits) plus file copies and one transaction; it needs the server's database
engine and nothing a crash of the import could corrupt. A `kill -9` ends the whole process, and
the next start reconciles the job (services/imports.reconcile_imports). Training jobs, which need
their own process, come with the Executor interface of the next issue.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable


class BackgroundWork:
    def __init__(self, workers: int = 1) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.stopping = threading.Event()  # set at shutdown; running work ends at its next progress event

    def submit(self, work: Callable[..., None], *args) -> Future:
        """Run work(*args, stopping) in the worker (started on first use, again after a shutdown)."""
        with self._lock:
            if self._pool is None:
                self.stopping = threading.Event()
                self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="classmill-import")
            return self._pool.submit(work, *args, self.stopping)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self.stopping.set()
        if pool is not None:
            # Queued work is dropped: its jobs stay queued and the next start fails them, to be retried.
            pool.shutdown(wait=True, cancel_futures=True)
