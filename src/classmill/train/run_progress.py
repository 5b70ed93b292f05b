"""Where a run stands, folded from its events.jsonl one event at a time.

One fold for `classmill status` (all events at once, run_status.py) and for the platform's live
job stream (one line as it arrives, server/services/job_events.py), so "epoch", "best so far" and
the ETA mean the same everywhere. The figures come from the events themselves: a step event
carries the window's images/s and the run's ETA (events.EventStream), an epoch event the
validation metrics, whether it is the best yet and the best value. Imports no torch.

Events are read from a file another process writes, so a malformed one is skipped, never raised.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass
class RunProgress:
    select_metric: str | None = None  # the metric that picks the best checkpoint (the start event names it)
    phase: str | None = None  # a setup phase (a "progress" event's), "train", or the run's end status
    epoch: int = 0  # epochs done
    step: int = 0  # steps done into the next epoch
    epochs: int | None = None
    steps_per_epoch: int | None = None
    images_per_s: float | None = None  # training throughput of the latest step window
    eta_s: float | None = None  # seconds left of the training (latest step or epoch event); None once ended
    train_loss: float | None = None  # the running mean loss of the epoch in progress (or the last one done)
    last_val: dict | None = None  # validation metrics of the latest epoch (or the head warm-up)
    best_epoch: int | None = None  # 0 = the head warm-up
    best_metric: float | None = None
    best_val: dict | None = None  # validation metrics of the best epoch

    def add(self, event: dict) -> bool:
        """Fold one event in; False when it was not a well-formed event of a kind this knows."""
        try:
            return self._add(event)
        except (KeyError, TypeError, ValueError, AttributeError):
            return False

    def _add(self, e: dict) -> bool:
        kind = e.get("type")
        if kind == "progress":
            self.phase = str(e["phase"])
        elif kind in ("start", "step"):
            self.phase, self.epoch, self.step = "train", int(e["epoch"]), int(e["step"])
            self.steps_per_epoch = int(e["steps_per_epoch"])
            self.epochs = e.get("epochs", self.epochs)
            self.select_metric = e.get("select_metric", self.select_metric)
            if kind == "step":
                self.train_loss = e.get("loss", self.train_loss)
                self.images_per_s, self.eta_s = e.get("images_per_s"), e.get("eta_s")
        elif kind == "head_warmup":
            # The warmed-up head is the run's first validated model: the best so far by definition.
            self.last_val = self.best_val = e["val"]
            self.best_epoch = 0
            self.best_metric = self.last_val.get(self.select_metric) if self.select_metric else None
        elif kind == "epoch":
            self.epoch, self.step, self.epochs = int(e["epoch"]), 0, e.get("epochs", self.epochs)
            self.last_val, self.best_metric, self.eta_s = e.get("val"), e["best_metric"], e.get("eta_s")
            self.train_loss = e.get("train_loss", self.train_loss)
            if e.get("best"):
                self.best_epoch, self.best_val = self.epoch, self.last_val
        elif kind == "status":
            self.phase, self.epoch, self.step, self.eta_s = str(e["status"]), int(e["epoch"]), int(e["step"]), None
        else:
            return False
        return True

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
