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


class EventLogTail:
    """The complete lines of a growing events.jsonl, each once, in order, numbered from 1.

    Remembers the byte offset it has read to, so each read costs only what was appended. A line
    is complete at its newline: a partly written last line waits for a later read. A read takes
    at most `max_line_bytes` (`more` then says that more is waiting); a line that long or longer
    is counted but its text dropped (None), so a runaway writer cannot make a reader hold it
    whole. A file that does not exist yet reads as empty. The log is append-only: a file replaced
    under a reader is not noticed (its reads continue at the old offset).
    """

    def __init__(self, path: Path, *, max_line_bytes: int = 1 << 20):
        self.path, self.max_line_bytes = path, max_line_bytes
        self.offset = 0  # bytes consumed: just after a newline, or inside a dropped line
        self.lines = 0  # complete lines read so far
        self.more = False
        self._dropping = False  # inside an over-long line: discard up to its newline

    def read(self) -> list[tuple[int, str | None]]:
        """(line number, its text without the newline, or None when dropped) for each complete new line."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(self.max_line_bytes + 1)
        except FileNotFoundError:
            return []
        self.more = len(data) > self.max_line_bytes
        data = data[:self.max_line_bytes]
        end = data.rfind(b"\n")
        if end < 0:
            if self.more or self._dropping:  # no newline in a whole chunk: an over-long line
                self.offset, self._dropping = self.offset + len(data), True
            return []
        self.offset += end + 1
        found = []
        for raw in data[:end].split(b"\n"):
            self.lines += 1
            text = None if self._dropping else raw.decode("utf-8", errors="replace")
            self._dropping = False
            found.append((self.lines, text))
        return found


class EventStream:
    """The engine's hook points as events: one line each in events.jsonl, and the same dict to each
    event callback (the CLI, the platform). Only the main process writes; step events are thinned
    to one per `step_seconds` (and the last step of each epoch), with throughput and ETA added."""

    HOOKS = ("on_progress", "on_train_start", "on_head_warmup_end", "on_fit_epoch_end", "on_early_stop",
             "on_train_end")

    def __init__(self, log: EventLog, callbacks: tuple = (), *, enabled: bool, step_seconds: float = 2.0):
        self.log, self.callbacks, self.enabled, self.step_seconds = log, callbacks, enabled, step_seconds
        self._window_start, self._window_images = time.perf_counter(), 0

    def attach(self, engine) -> None:
        for name in self.HOOKS:
            engine.add_hook(name, self.on_event)
        engine.add_hook("on_train_batch_end", self.on_step)

    def send(self, event: dict) -> None:
        if self.enabled:
            event = self.log.write(event)
            for callback in self.callbacks:
                callback(event)

    def on_event(self, engine, event: dict) -> None:
        self.send(event)
        if event["type"] == "start":  # throughput counts training, not the setup before it
            self._window_start, self._window_images = time.perf_counter(), 0

    def on_step(self, engine, event: dict) -> None:
        event = dict(event)
        self._window_images += event.pop("images")
        now = time.perf_counter()
        if now - self._window_start < self.step_seconds and event["step"] < event["steps_per_epoch"]:
            return
        rate = self._window_images / max(now - self._window_start, 1e-9)
        remaining = (engine.config.epochs - event["epoch"]) * event["steps_per_epoch"] - event["step"]
        self.send({**event, "images_per_s": round(rate, 2),
                   "eta_s": round(remaining * engine.config.batch_size / max(rate, 1e-9), 1)})
        self._window_start, self._window_images = now, 0
