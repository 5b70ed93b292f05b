"""Drive `classmill train` as a separate process, as a user or the platform's job runner does."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def wait_for(predicate, timeout=120) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def start_cli_training(data: Path, run: Path, *options: str) -> subprocess.Popen:
    """`classmill train DATA --out RUN --json OPTIONS...` in a new process (stdout/stderr piped)."""
    cmd = [sys.executable, "-m", "classmill", "train", str(data), "--out", str(run), "--json", *options]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def logged_events(run: Path) -> list[dict]:
    """The run's events.jsonl so far (a line being written is skipped)."""
    path = run / "events.jsonl"
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events
