"""Show the library's progress events (classmill.progress) as rich bars, one per phase."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

PHASE_TITLES = {
    "check": "checking images",
    "extract": "extracting archive",
    "cache": "decoding images",
    "bn_adapt": "adapting BatchNorm to the images",
    "features": "backbone features",
    "head_fit": "fitting the head",
    "temperature": "calibrating confidences",
    "calibration": "INT8 calibration",
    "int8_check": "INT8 accuracy check",
    "evaluate": "evaluating",
    "predict": "predicting",
    "backup_rows": "backing up rows",
    "backup_files": "backing up files",
    "verify": "verifying the backup",
    "restore_rows": "restoring rows",
    "restore_files": "restoring files",
}


class PhaseBars:
    """A context manager; call it with every event, it draws the 'progress' ones."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[unit]}"), TimeRemainingColumn(), console=self.console,
                                 transient=False)
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> "PhaseBars":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, event: dict) -> None:
        if event.get("type") != "progress":
            return
        phase = event["phase"]
        if phase not in self._tasks:
            self._tasks[phase] = self.progress.add_task(PHASE_TITLES.get(phase, phase), total=event["total"] or None,
                                                        unit=event.get("unit", ""))
        self.progress.update(self._tasks[phase], completed=event["done"], total=event["total"] or None)
