"""The files of one training run, in one place."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from classmill import atomic
from classmill.errors import RunStateError
from classmill.train.ownership import owner_alive

# "interrupted": the process ended without a checkpoint at its stopping point (kill -9, crash, a
# second Ctrl-C); a resume continues from the last checkpoint. Also what a stale "running" reads as.
STATUSES = ("created", "running", "paused", "stopped", "interrupted", "finished", "failed")

# The owner's heartbeat thread and its training thread both rewrite status.json; each
# read-modify-write must see the other's result or a late heartbeat could undo "finished".
_STATUS_WRITES = threading.Lock()


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
    def calibration(self) -> Path:
        """The temperature fitted on the val split for best.pt (classmill.train.calibrate)."""
        return self.root / "calibration.json"

    @property
    def status_file(self) -> Path:
        return self.root / "status.json"

    def is_run(self) -> bool:
        return self.config.is_file()

    def require_run(self) -> None:
        """Raise a RunStateError with the fix unless this folder holds a run (a config.yaml)."""
        if self.is_run():
            return
        what = "does not exist" if not self.root.exists() else "is not a classmill run (it has no config.yaml)"
        raise RunStateError(f"{self.root} {what}. Give the run folder a training wrote: the --out of "
                            "`classmill train` (by default runs/<data>-<date>-<time>).")

    def status(self) -> dict:
        """status.json as recorded; see effective_status() for what it means now."""
        try:
            return json.loads(self.status_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"status": "created"}

    def effective_status(self) -> dict:
        """status.json, with a "running" whose process is gone read as "interrupted"."""
        status = self.status()
        if status.get("status") == "running" and not owner_alive(self.root, status):
            status = {**status, "status": "interrupted", "recorded_status": "running",
                      "reason": "the training process ended without recording why (killed, crashed, or its "
                                "machine restarted); a resume continues from the last checkpoint"}
        return status

    def set_status(self, status: str, **details) -> None:
        """Record `status` with `details`; the owner (pid, host, heartbeat) carries over unless given."""
        assert status in STATUSES

        def replace(old: dict) -> dict:
            owner = {"owner": old["owner"]} if "owner" in old and "owner" not in details else {}
            return {"status": status, **details, **owner}

        self.update_status(replace)

    def update_status(self, change: Callable[[dict], dict | None]) -> None:
        """Rewrite status.json as change(current) returns it; None leaves it alone."""
        with _STATUS_WRITES:
            new = change(self.status())
            if new is not None:
                atomic.write_json(self.status_file, new)
