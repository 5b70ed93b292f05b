"""The files of one training run, in one place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from classmill import atomic

STATUSES = ("created", "running", "paused", "stopped", "finished", "failed")


@dataclass(frozen=True)
class RunDirectory:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def labels(self) -> Path:
        return self.root / "labels.txt"

    @property
    def preprocess(self) -> Path:
        return self.root / "preprocess.json"

    @property
    def manifest(self) -> Path:
        return self.root / "split" / "manifest.json"

    @property
    def last(self) -> Path:
        return self.root / "checkpoints" / "last.pt"

    @property
    def best(self) -> Path:
        return self.root / "checkpoints" / "best.pt"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def status_file(self) -> Path:
        return self.root / "status.json"

    def status(self) -> dict:
        try:
            return json.loads(self.status_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"status": "created"}

    def set_status(self, status: str, **details) -> None:
        assert status in STATUSES
        atomic.write_json(self.status_file, {"status": status, **details})
