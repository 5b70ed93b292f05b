"""The "train" job kind: a run folder under the workspace trained, resumed or extended by the library.

params: {"run": "<name>" (a folder under <workspace>/runs), "preset": "fast", "options": {...}
(TrainConfig fields, "data" among them), "extend_to_epochs": N (optional: extend a finished run
until it has N epochs — a target, so an attempt repeated after a crash never extends twice)}.
A run folder that already holds a run is resumed (after a pause, stop or crash) or extended; a
finished run with nothing to extend is left as it is (the attempt only builds what comes after
training); otherwise a new run starts. The run's final status maps onto the job's state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from classmill.errors import UserError

TRAIN_KIND = "train"
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


def in_workspace(workspace: Path, options: dict) -> dict:
    """Options with the file paths a task names relative to the workspace (its data CSV, the store) made absolute."""
    return {key: (str(Path(workspace) / value) if key in ("data", "data_root") and value
                  and not Path(value).is_absolute() else value) for key, value in options.items()}


def has_checkpoint(workspace: Path, kind: str, params: dict) -> bool:
    """Whether an ended job of `kind` can continue from a checkpoint rather than from the start."""
    if kind != TRAIN_KIND:
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
        status = run.effective_status()
        target = int(params.get("extend_to_epochs") or 0)
        if status.get("status") != "finished":
            result = resume(folder, **hooks)
        elif target > int(status.get("epoch", 0)):
            result = extend(folder, target - int(status["epoch"]), **hooks)
        else:
            return "succeeded", finished_summary(run, params["run"])
    else:
        config = resolve_config(params.get("preset") or "balanced", **in_workspace(workspace, params.get("options", {})))
        folder.parent.mkdir(parents=True, exist_ok=True)
        result = train(config, folder, **hooks)
    summary = {"run_status": result.status, "run": params["run"], "epochs_completed": result.epochs_completed,
               "best_epoch": result.best_epoch, "select_metric": result.select_metric,
               "best_metric": result.best_metric, "best_metrics": result.best_metrics,
               "wall_seconds": round(result.wall_seconds, 2)}
    return JOB_STATE_OF_RUN.get(result.status, "failed"), summary


def finished_summary(run, name: str) -> dict:
    """The summary of a run that finished in an earlier attempt, from its status.json and metrics.json."""
    import json

    status = run.status()
    metrics = json.loads(run.metrics.read_text(encoding="utf-8")) if run.metrics.is_file() else {}
    return {"run_status": "finished", "run": name, "epochs_completed": status.get("epoch", 0),
            "best_epoch": status.get("best_epoch"), "select_metric": metrics.get("select_metric"),
            "best_metric": status.get("best_metric"), "best_metrics": metrics.get("best", {}),
            "wall_seconds": None}
