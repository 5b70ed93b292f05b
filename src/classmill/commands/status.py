"""`classmill status RUN`: is the run training, interrupted, failed or done, and what to do next."""

from __future__ import annotations

import json
from pathlib import Path

import typer

_NEXT_PROSE = {"running": "to stop it; it checkpoints first", "finished": "to see its report"}


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)


def status_command(
    run: Path = typer.Argument(..., help="Run folder written by `classmill train`."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show a run's state (a dead training reads 'interrupted'), progress, owner and the next command."""
    from classmill.train.run_status import describe_run

    info = describe_run(run)
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    for label, value in _lines(info):
        typer.echo(f"{label + ':':<10} {value}")


def _lines(info: dict) -> list[tuple[str, str]]:
    state = info["status"]
    if info.get("recorded_status") and info["recorded_status"] != state:
        state += f" (status.json says {info['recorded_status']}, but its process is gone)"
    lines = [("run", info["run"]), ("status", state)]
    if info.get("epochs") is not None:
        progress = f"{info['epoch']} of {info['epochs']} epochs done"
        if info.get("step") and info.get("steps_per_epoch"):
            progress += f", step {info['step']}/{info['steps_per_epoch']} of epoch {info['epoch'] + 1}"
        lines.append(("progress", progress))
    if info.get("best_metric") is not None and info.get("best_epoch") is not None and info["best_epoch"] >= 0:
        lines.append(("best", f"val {info['select_metric']} {info['best_metric']:.4f} at epoch {info['best_epoch']}"))
    owner = info.get("owner")
    if owner:
        beat = info.get("heartbeat_age_s") if info["status"] in ("running", "interrupted") else None
        lines.append(("process" if info["status"] == "running" else "last run",
                      f"{owner.get('pid')} on {owner.get('host')}, started {owner.get('started_at')}"
                      + (f", last heartbeat {beat:.0f} s ago" if beat is not None else "")))
    if info.get("reason"):
        lines.append(("reason", info["reason"] + (f" [{info['error']}]" if info.get("error") else "")))
    if info.get("next"):
        prose = _NEXT_PROSE.get(info["status"], "to continue from the last checkpoint")
        lines.append(("next", f"{info['next']}   ({prose})"))
    return lines
