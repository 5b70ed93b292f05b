"""Stop and pause from outside a training process: signals, or a control file in the run directory."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

from classmill import atomic
from classmill.errors import RunStateError
from classmill.train.ownership import lock_is_held
from classmill.train.run_dir import RunDirectory

CONTROL_FILE = "control.json"
ACTIONS = ("stop", "pause")


def request(run_dir: Path, action: str) -> dict:
    """Ask the training process of `run_dir` to finish its current step, checkpoint and exit.

    Refuses (RunStateError, writing nothing) a folder that holds no run or a run nothing is training;
    returns the run's status, whose "owner" names the process asked.
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    run = RunDirectory(Path(run_dir))
    run.require_run()
    status = run.effective_status()
    # A process still loading data or fitting the head holds the lock before it records "running".
    if status["status"] != "running" and not lock_is_held(run.root):
        raise RunStateError(f"{run.root} is not running (status: {status['status']}): there is nothing to "
                            f"{action}. `classmill status {run.root}` says what to do next.")
    atomic.write_json(run.root / CONTROL_FILE, {"action": action})
    return status


def read_request(run_dir: Path) -> str | None:
    path = Path(run_dir) / CONTROL_FILE
    try:
        action = json.loads(path.read_text(encoding="utf-8")).get("action")
    except (FileNotFoundError, ValueError):
        return None
    return action if action in ACTIONS else None


def clear_request(run_dir: Path) -> None:
    (Path(run_dir) / CONTROL_FILE).unlink(missing_ok=True)


class SignalStop:
    """SIGINT/SIGTERM -> 'stop' at the next step; a second SIGINT interrupts at once."""

    def __init__(self) -> None:
        self.action: str | None = None
        self._previous: dict = {}

    def __call__(self) -> str | None:
        return self.action

    def _handle(self, signum, frame) -> None:
        if self.action is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.action = "stop"

    def __enter__(self) -> "SignalStop":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
