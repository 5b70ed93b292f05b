"""The "train" job kind: a run folder under the workspace trained, resumed or extended by the library.

params: {"run": "<name>" (a folder under <workspace>/runs), "preset": "fast", "options": {...}
(TrainConfig fields, "data" among them), "extend_epochs": N (optional: add N epochs to a finished run)}.
A run folder that already holds a run is resumed (after a pause, stop or crash) or extended;
otherwise a new run starts. The run's final status maps onto the job's state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from classmill.errors import UserError

RUNS_FOLDER = "runs"
JOB_STATE_OF_RUN = {"finished": "succeeded", "stopped": "stopped", "paused": "paused"}


def run_folder(workspace: Path, params: dict) -> Path:
    """<workspace>/runs/<params["run"]>, refusing names that would leave that folder."""
    name = str(params.get("run", ""))
    if not name or name.startswith((".", "/", "\\")) or any(part in ("..", "") for part in Path(name).parts) \
            or Path(name).is_absolute():
        raise UserError(f"job parameter run={name!r} is not a plain folder name. Name the run folder, e.g. 'task-12'.")
    root = (Path(workspace) / RUNS_FOLDER).resolve()
    folder = (root / name).resolve()
    if not folder.is_relative_to(root):
        raise UserError(f"job parameter run={name!r} leaves the workspace's runs folder. Use a plain name.")
    return folder


def run_events_file(workspace: Path, params: dict) -> Path | None:
    """The events.jsonl of a job that names a run folder (any kind with params["run"]); None for one without."""
    if "run" not in params:
        return None
    from classmill.train.run_dir import RunDirectory

    try:
        return RunDirectory(run_folder(workspace, params)).events
    except UserError:
        return None  # a name that leaves the runs folder: the job itself fails on it, nothing to read


def has_checkpoint(workspace: Path, kind: str, params: dict) -> bool:
    """Whether an ended job of `kind` can continue from a checkpoint rather than from the start."""
    if kind != "train":
        return False
    from classmill.train.run_dir import RunDirectory

    try:
        run = RunDirectory(run_folder(workspace, params))
    except UserError:
        return False
    return run.is_run() and run.last.is_file() and run.effective_status().get("status") != "running"


def run_train(workspace: Path, params: dict, callback: Callable[[dict], None],
              should_stop: Callable[[], str | None]) -> tuple[str, dict]:
    """Train, resume or extend the job's run; returns (job state, result)."""
    from classmill.train import RunDirectory, extend, resolve_config, resume, train

    folder = run_folder(workspace, params)
    run = RunDirectory(folder)
    hooks = {"callbacks": (callback,), "should_stop": should_stop}
    if run.is_run():
        finished = run.effective_status().get("status") == "finished"
        if finished and params.get("extend_epochs"):
            result = extend(folder, int(params["extend_epochs"]), **hooks)
        else:
            result = resume(folder, **hooks)
    else:
        config = resolve_config(params.get("preset") or "balanced", **params.get("options", {}))
        folder.parent.mkdir(parents=True, exist_ok=True)
        result = train(config, folder, **hooks)
    summary = {"run_status": result.status, "run": params["run"], "epochs_completed": result.epochs_completed,
               "best_epoch": result.best_epoch, "select_metric": result.select_metric,
               "best_metric": result.best_metric, "best_metrics": result.best_metrics,
               "wall_seconds": round(result.wall_seconds, 2)}
    return JOB_STATE_OF_RUN.get(result.status, "failed"), summary
