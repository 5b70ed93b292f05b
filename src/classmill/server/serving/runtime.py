"""Everything the published endpoints share in one server process: the serve package's limits and
state (decode pool, a batcher per loaded model), the loaded models and the request statistics."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.orm import Session

from classmill.infer import Predictor
from classmill.serve.settings import ServeSettings
from classmill.serve.state import ServeState
from classmill.server.serving.predictors import Lease, PredictorCache
from classmill.server.serving.stats import EndpointStats
from classmill.server.services import deployments
from classmill.server.services.deployments import ServingTarget

log = logging.getLogger(__name__)


@dataclass
class ServingRuntime:
    settings: ServeSettings  # the same limits as `classmill serve` (CLASSMILL_SERVE_* variables)
    models: PredictorCache[Predictor]
    stats_flush_s: float
    serve_state: ServeState = field(init=False)
    stats: EndpointStats = field(default_factory=EndpointStats)

    def __post_init__(self) -> None:
        self.serve_state = ServeState(self.settings)

    def load(self, target: ServingTarget) -> Predictor:
        """The one place a published model is loaded: its bundle, the serve limits and its thresholds."""
        # target.model_key includes the thresholds, so a threshold change reloads the model.
        return Predictor.load(target.bundle, max_pixels=self.settings.max_pixels, thresholds=dict(target.thresholds))

    def acquire(self, target: ServingTarget) -> tuple[Lease[Predictor], list[Predictor]]:
        """(blocking: call from a worker thread) a lease on the endpoint's model, loading it if needed."""
        return self.models.acquire(target.name, target.model_key, lambda: self.load(target))

    async def discard(self, unused: list[Predictor]) -> None:
        """Stop the batchers of models no request holds any more (they were unloaded)."""
        for predictor in unused:
            await self.serve_state.discard(predictor)

    async def unload(self, name: str, endpoint_id: int) -> None:
        """An unpublished endpoint: its model unloaded (after its last request) and its counts forgotten."""
        self.stats.forget(endpoint_id)
        await self.discard(self.models.invalidate(name))

    def flush_stats(self, sessions: Callable[[], Session]) -> None:
        """(blocking) add the counted requests to the endpoints' rows; kept for the next flush on failure."""
        deltas = self.stats.take()
        if not deltas:
            return
        try:
            with sessions() as session:
                deployments.add_stats(session, deltas)
        except Exception:  # noqa: BLE001 - a database hiccup must not lose the counts or stop serving
            self.stats.put_back(deltas)
            log.exception("could not write endpoint statistics; they are kept for the next flush")

    async def flush_periodically(self, sessions: Callable[[], Session]) -> None:
        """Runs for the server's life: a flush every stats_flush_s (the last one is the lifespan's, at shutdown)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.stats_flush_s)
            await loop.run_in_executor(None, self.flush_stats, sessions)

    async def stop(self) -> None:
        await self.serve_state.stop()
