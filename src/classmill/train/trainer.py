"""The training entry points: one plain call used by the CLI, the platform worker and the tests.

    result = train(config, run_dir)            # new run
    result = resume(run_dir)                   # after pause, stop, crash or kill -9
    result = extend(run_dir, epochs=5)         # more epochs on a finished run

Each prepares the run folder and hands over to classmill.train.engine.Engine, which trains, and
whose hook points the `callbacks` here (and events.jsonl) are fed from. Resume is exact.
"""

from __future__ import annotations

from pathlib import Path

from classmill.errors import RunStateError
from classmill.train import control
from classmill.train.checkpoint import load_checkpoint
from classmill.train.config import TrainConfig
from classmill.train.data_choices import decide_from_data
from classmill.train.distributed import barrier as _barrier, is_main_process as _is_main_process
from classmill.train.engine import Engine, EventCallback, RunResult, StopCheck, run_preprocess
from classmill.train.ownership import owned_run
from classmill.train.prepare import load_prepared, prepare_data
from classmill.train.run_dir import RunDirectory

__all__ = ["RunResult", "train", "resume", "extend", "run_preprocess"]


def train(config: TrainConfig, run_dir: str | Path, *, callbacks: tuple[EventCallback, ...] = (),
          should_stop: StopCheck | None = None) -> RunResult:
    """Start a new run in `run_dir` (which must not hold one already)."""
    run = RunDirectory(Path(run_dir))
    with owned_run(run, main=_is_main_process(), create=True) as owner:
        if _is_main_process():
            # Only rank 0 looks: the others would find the config.yaml it has just written.
            # Checks the folder, options, model and data before writing anything. The data check's
            # progress goes to the callbacks only: events.jsonl cannot exist before the run does.
            dataset = prepare_data(config, run, progress=lambda event: [cb(event) for cb in callbacks])
            config = decide_from_data(config, dataset)
            config.save(run.config)
            owner.start(config)
        _barrier()
        # Every rank trains with the config as written: "auto" options decided from the data.
        return _run(TrainConfig.load(run.config), run, load_prepared(run), state=None, callbacks=callbacks,
                    should_stop=should_stop)


def resume(run_dir: str | Path, *, callbacks: tuple[EventCallback, ...] = (),
           should_stop: StopCheck | None = None) -> RunResult:
    """Continue a paused, stopped or interrupted run from its last checkpoint."""
    run = RunDirectory(Path(run_dir))
    run.require_run()
    with owned_run(run, main=_is_main_process()) as owner:
        if run.status().get("status") == "finished":
            raise RunStateError(f"{run.root} has finished; add epochs with --extend N.")
        config = TrainConfig.load(run.config)
        state = load_checkpoint(run.last) if run.last.exists() else None
        control.clear_request(run.root)
        owner.start(config)
        return _run(config, run, load_prepared(run), state=state, callbacks=callbacks, should_stop=should_stop)


def extend(run_dir: str | Path, epochs: int, *, lr_scale: float = 0.3, callbacks: tuple[EventCallback, ...] = (),
           should_stop: StopCheck | None = None) -> RunResult:
    """Add `epochs` epochs to a run, as a warm restart of the schedule at lr * lr_scale."""
    run = RunDirectory(Path(run_dir))
    if epochs <= 0:
        raise RunStateError("--extend needs a positive number of epochs.")
    run.require_run()
    with owned_run(run, main=_is_main_process()) as owner:
        if _is_main_process():  # only rank 0 looks: the others could read the "running" it is about to write
            status = run.status().get("status")
            status = "interrupted" if status == "running" else status  # we hold the lock: its owner is gone
            if not run.last.exists() or status in ("paused", "stopped", "interrupted", "failed"):
                raise RunStateError(f"{run.root} has not finished (status: {status}); continue it with "
                                    f"`classmill train --resume {run.root}` first, then extend it.")
        config = TrainConfig.load(run.config)
        state = load_checkpoint(run.last)
        done = int(state["epoch"])
        if state["step"] != 0:
            raise RunStateError(f"{run.root} has not finished; --resume it first, then extend it.")
        kept = [seg for seg in config.schedule if seg[0] < done]  # none for a probe-only (0-epoch) run
        if kept:
            kept[-1][1] = min(kept[-1][1], done)
        config.schedule = kept + [[done, done + epochs, config.lr * lr_scale]]
        config.epochs = done + epochs
        state["early_stopped"] = False
        if _is_main_process():
            config.save(run.config)
        control.clear_request(run.root)
        owner.start(config)
        return _run(config, run, load_prepared(run), state=state, callbacks=callbacks, should_stop=should_stop)


def _run(config: TrainConfig, run: RunDirectory, dataset, *, state: dict | None,
         callbacks: tuple[EventCallback, ...], should_stop: StopCheck | None) -> RunResult:
    return Engine(config, run, dataset, state=state, callbacks=callbacks, should_stop=should_stop).fit()
