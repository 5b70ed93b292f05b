"""Stop and pause from outside a training process: signals, or a control file in the run directory."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

from classmill import atomic

CONTROL_FILE = "control.json"
ACTIONS = ("stop", "pause")


def request(run_dir: Path, action: str) -> None:
    """Ask the training process of `run_dir` to finish its current step, checkpoint and exit."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    atomic.write_json(Path(run_dir) / CONTROL_FILE, {"action": action})


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
