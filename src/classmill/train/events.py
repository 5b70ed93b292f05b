"""events.jsonl: one JSON line per step window and per epoch, read by the CLI, the server and tests."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


class EventLog:
    def __init__(self, path: Path):
        self.path = path

    def write(self, event: dict) -> dict:
        event = {"time": round(time.time(), 3), **event}
        line = json.dumps(event, ensure_ascii=False) + "\n"
        # One write() of one line in append mode: a crash can only cut the last line, which readers skip.
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        return event


def read_events(path: Path) -> list[dict]:
    events = []
    if not path.is_file():
        return events
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # the last line of a killed process may be cut
    return events
