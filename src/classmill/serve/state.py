"""What the prediction routes share across requests: limits, the decode pool, one batcher per model."""

from __future__ import annotations

from classmill.infer import Predictor
from classmill.serve.batcher import DynamicBatcher
from classmill.serve.decode_pool import DecodePool
from classmill.serve.settings import ServeSettings

STATE_ATTRIBUTE = "classmill_serve"  # app.state.<this> holds the ServeState


class ServeState:
    """Created once per app. A host serving many models (the platform) keeps one of these and
    gets a batcher per model from it, so each model's requests are batched together."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.decode_pool = DecodePool(settings.max_concurrent_decodes)
        self._batchers: dict[int, tuple[Predictor, DynamicBatcher]] = {}

    def batcher_for(self, predictor: Predictor) -> DynamicBatcher:
        # Keyed by identity; the predictor is kept in the entry so its id cannot be reused.
        entry = self._batchers.get(id(predictor))
        if entry is None:
            batcher = DynamicBatcher(predictor.predict_proba, window_ms=self.settings.batch_window_ms,
                                     max_batch_size=self.settings.max_batch_size)
            entry = self._batchers[id(predictor)] = (predictor, batcher)
        return entry[1]

    async def discard(self, predictor: Predictor) -> None:
        """Stop and forget the batcher of a model the host no longer serves (it unloaded the model)."""
        entry = self._batchers.pop(id(predictor), None)
        if entry is not None:
            await entry[1].stop()

    async def stop(self) -> None:
        """Stop every batcher and the decode threads (a later request starts fresh ones)."""
        for _, batcher in self._batchers.values():
            await batcher.stop()
        self.decode_pool.shutdown()
