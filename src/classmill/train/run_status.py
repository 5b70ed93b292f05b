"""Where a run stands, in one dict: its honest state, progress, owner, failure and the next command.

Read by `classmill status` and, later, the platform's job pages. Imports no torch.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from classmill.train.config import TrainConfig
from classmill.train.events import read_events
from classmill.train.ownership import heartbeat_age
from classmill.train.run_dir import RunDirectory
from classmill.train.run_progress import RunProgress

_SUMMARY_KEYS = ("reason", "error", "kind", "recorded_status", "ended_at")


def describe_run(run_dir: str | Path) -> dict:
    """The state of the run in `run_dir` (RunStateError if it holds none), JSON-ready."""
    run = RunDirectory(Path(run_dir))
    run.require_run()
    status = run.effective_status()
    config = TrainConfig.load(run.config)
    info = {"run": str(run.root), "status": status["status"], "select_metric": config.select_metric,
            **_progress(status, read_events(run.events), config.select_metric)}
    info.update({k: status[k] for k in _SUMMARY_KEYS if k in status})
    owner = status.get("owner")
    if owner:
        info["owner"] = owner
        info["heartbeat_age_s"] = _rounded(heartbeat_age(owner))
    info["next"] = _next_command(run.root, status)
    return info


def _progress(status: dict, events: list[dict], select_metric: str) -> dict:
    """Epochs done and steps into the next, from the event log (status.json only records them at ends)."""
    progress = RunProgress(select_metric, epoch=status.get("epoch", 0), step=status.get("step", 0),
                           epochs=status.get("epochs"), best_epoch=status.get("best_epoch"),
                           best_metric=status.get("best_metric"))
    for event in events:
        progress.add(event)
    return progress.to_dict()


def _next_command(root: Path, status: dict) -> str | None:
    run = shlex.quote(str(root))
    state = status["status"]
    if state == "running":
        return f"classmill stop {run}"
    if state == "finished":
        return f"classmill evaluate {run}"
    if state == "failed" and status.get("kind") == "out_of_memory":
        return None  # the reason says which sizes to lower; a resume would reuse them
    return f"classmill train --resume {run}"  # created, paused, stopped, interrupted, failed


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
