"""`classmill train`, `classmill stop`, `classmill pause`."""

from __future__ import annotations

import inspect
import json
import os
import time
import typing
from pathlib import Path

import typer

from classmill.errors import ConfigError
from classmill.train.config import PRESETS, option_specs, resolve_config


def register(app: typer.Typer) -> None:
    app.command("train")(_with_training_options(train_command))
    app.command("stop")(stop_command)
    app.command("pause")(pause_command)


def _default_out(data: Path) -> Path:
    return Path("runs") / f"{data.stem or 'run'}-{time.strftime('%Y%m%d-%H%M%S')}"


def _shown(value) -> str:
    return {True: "on", False: "off"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def _option_parameter(spec: dict) -> inspect.Parameter:
    """The typer parameter of one training option: None unless given, so the preset and --config apply."""
    kind = {"int": int, "float": float, "str": str, "bool": bool}[spec["type"]]
    name = spec["flag"][2:]
    defaults = spec["preset_defaults"]
    if len(set(map(repr, defaults.values()))) == 1:
        shown = _shown(next(iter(defaults.values())))
    else:
        shown = ", ".join(f"{preset} {_shown(value)}" for preset, value in defaults.items())
    # Parentheses, not typer's "[default: x]": rich reads square brackets as markup.
    help_text = spec["help"] + ("" if spec["nullable"] else f" (default: {shown})")
    option = typer.Option(None, f"--{name}/--no-{name}" if kind is bool else spec["flag"], help=help_text,
                          metavar="|".join(spec["choices"]) if spec["choices"] else None,
                          rich_help_panel=f"Training options: {spec['group'].lower()}")
    return inspect.Parameter(spec["name"], inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)


def _with_training_options(command):
    """Give `command` one flag per training option (from their one definition in train/config.py).

    The command receives them as `options`: {name: value, or None where the flag was not given}.
    """
    hints = typing.get_type_hints(command)
    own = [p.replace(annotation=hints[p.name]) for p in inspect.signature(command).parameters.values()
           if p.name != "options"]
    generated = [_option_parameter(spec) for spec in option_specs() if spec["cli"]]
    names = [p.name for p in generated]

    def command_with_options(**kwargs):
        return command(options={name: kwargs.pop(name) for name in names}, **kwargs)

    command_with_options.__signature__ = inspect.Signature(own + generated)
    command_with_options.__annotations__ = {p.name: p.annotation for p in own + generated}
    command_with_options.__doc__ = command.__doc__
    return command_with_options


def train_command(
    data: Path = typer.Argument(None, help="Dataset (folder, zip, CSV, PaddleClas lists), or a run folder with --extend."),
    out: Path = typer.Option(None, "--out", help="Run folder (default runs/<data>-<time>)."),
    preset: str = typer.Option(None, "--preset", metavar="|".join(PRESETS),
                               help="Starting point for every default (default: balanced, or the --config file's)."),
    config_file: Path = typer.Option(None, "--config", help="YAML of options (a run's own config.yaml works); "
                                     "flags given here override it."),
    resume_run: Path = typer.Option(None, "--resume", help="Continue this paused/stopped/interrupted run."),
    extend_epochs: int = typer.Option(None, "--extend", help="Add N epochs to a finished run (with --resume RUN or DATA=RUN)."),
    as_json: bool = typer.Option(False, "--json", help="Quiet: print events as JSON lines."),
    options: dict = None,
) -> None:
    """Train a classifier. Ctrl-C (or `classmill stop RUN`) finishes the step, checkpoints and exits."""
    run_dir = resume_run
    if run_dir is None and data is not None and (data / "config.yaml").is_file():
        run_dir = data  # `classmill train RUN --extend N`
    flags = {spec["name"]: spec["flag"] for spec in option_specs()}
    given = [flags[name] for name, value in options.items() if value is not None]
    given += ["--config"] * bool(config_file) + ["--preset"] * bool(preset)
    if run_dir is not None and given:
        raise ConfigError(f"{', '.join(given)}: options of a new run; a resumed run keeps its own config.yaml. "
                          f"To train with other options, start a new run: classmill train --config "
                          f"{run_dir}/config.yaml [options] --out NEW_RUN")
    config = None
    if run_dir is None:
        # Resolved (and so checked) before torch loads: a typo is answered at once.
        config = resolve_config(preset, config_file=config_file, data=str(data) if data is not None else None,
                                **options)
        if not config.data:
            raise typer.BadParameter("give a dataset: classmill train images/ [--preset fast|balanced|accurate]")
    from classmill.train import extend, resume, train
    from classmill.train.control import SignalStop

    _init_distributed_from_torchrun()
    reporter = _JsonReporter() if as_json else _RichReporter()
    with SignalStop() as stop, reporter:
        if extend_epochs:
            if run_dir is None:
                raise typer.BadParameter("--extend needs the run: classmill train --resume RUN --extend N")
            result = extend(run_dir, extend_epochs, callbacks=(reporter,), should_stop=stop)
        elif run_dir is not None:
            result = resume(run_dir, callbacks=(reporter,), should_stop=stop)
        else:
            result = train(config, out or _default_out(Path(config.data)), callbacks=(reporter,), should_stop=stop)
    if not _finish_distributed():
        return  # rank 0 reports for the whole job
    summary = {"status": result.status, "run_dir": str(result.run_dir), "epochs_completed": result.epochs_completed,
               "best_epoch": result.best_epoch, result.select_metric: result.best_metric,
               "best_metrics": result.best_metrics, "wall_seconds": round(result.wall_seconds, 1),
               "calibration": result.calibration}
    if as_json:
        typer.echo(json.dumps({"type": "result", **summary}))
    else:
        typer.echo(f"{result.status}: best val {result.select_metric} {result.best_metric:.4f} at epoch "
                   f"{result.best_epoch} in {result.wall_seconds:.0f} s -> {result.run_dir}")
        if result.calibration:
            typer.echo(_calibration_line(result.calibration))
        if result.status in ("paused", "stopped"):
            typer.echo(f"continue with: classmill train --resume {result.run_dir}")


def _calibration_line(calibration: dict) -> str:
    c = calibration
    # At the lower bound: the val split has (nearly) no mistakes, so sharper always looked better.
    bound = f" (clamped to its range {c['bounds'][0]}..{c['bounds'][1]})" if c["clamped"] else ""
    return (f"confidences calibrated on {c['images']} val images: temperature {c['temperature']:.3f}{bound}, "
            f"ECE {c['ece_before']:.3f} -> {c['ece_after']:.3f}")


def stop_command(run: Path = typer.Argument(..., help="Run folder of a training in progress.")) -> None:
    """Ask a running training to checkpoint and stop (status 'stopped')."""
    _request(run, "stop")


def pause_command(run: Path = typer.Argument(..., help="Run folder of a training in progress.")) -> None:
    """Ask a running training to checkpoint and pause (status 'paused'); continue with --resume."""
    _request(run, "pause")


def _request(run: Path, action: str) -> None:
    from classmill.train.control import request

    owner = request(run, action).get("owner") or {}
    asked = f" (process {owner['pid']} on {owner['host']})" if owner else ""
    typer.echo(f"{action} requested for {run}{asked}: it finishes the current step, checkpoints and exits. "
               f"Follow it with: classmill status {run}")


def _init_distributed_from_torchrun() -> None:
    # The CLI (not the library) reads torchrun's environment; the trainer only asks torch.distributed.
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch
        import torch.distributed as dist

        if not dist.is_initialized():
            if torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
                # Before the group exists: otherwise NCCL's first collective runs every process on GPU 0.
                torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")


def _finish_distributed() -> bool:
    """Tear down torchrun's process group; True on the process that should report (rank 0 or alone)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        return True
    rank = dist.get_rank()
    dist.destroy_process_group()
    return rank == 0


class _JsonReporter:
    def __call__(self, event: dict) -> None:
        print(json.dumps(event, ensure_ascii=False), flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


class _RichReporter:
    """Epoch/step bar with loss, val accuracy and ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = Console()
        self.progress = Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]}  {task.fields[ips]} img/s  val {task.fields[val]}"),
                                 TimeRemainingColumn(), console=self.console)
        self.task = None
        self.phases = None  # bars of the steps before training (decoding, warm-up), until "start"

    def __enter__(self):
        return self  # rich shows one live display at a time: the training bar starts with training

    def __exit__(self, *exc) -> None:
        if self.phases is not None:
            self.phases.__exit__(*exc)
        if self.task is not None:
            self.progress.__exit__(*exc)

    def __call__(self, event: dict) -> None:
        kind = event["type"]
        if kind == "progress" and self.task is None:
            from classmill.commands.progress_display import PhaseBars

            self.phases = self.phases or PhaseBars(self.console).__enter__()
            self.phases(event)
        if kind == "start":
            if self.phases is not None:
                self.phases.__exit__(None, None, None)
                self.phases = None
            self.progress.__enter__()
            total = event["epochs"] * event["steps_per_epoch"]
            self.steps = event["steps_per_epoch"]
            done = event["epoch"] * self.steps + event["step"]
            self.console.print(f"{'resuming' if event['resumed'] else 'training'}: {event['train_images']} train / "
                               f"{event['val_images']} val images, {len(event['classes'])} classes on {event['device']}")
            for choice in event.get("data_choices", ()):  # what "auto" options became, and why
                self.console.print(f"  {choice['option']} = {choice['value']}: {choice['reason']}")
            self.task = self.progress.add_task("train", total=total, completed=done, epoch=event["epoch"] + 1,
                                               loss="-", ips="-", val="-")
        elif kind == "step" and self.task is not None:
            self.progress.update(self.task, completed=event["epoch"] * self.steps + event["step"],
                                 epoch=event["epoch"] + 1, loss=f"{event['loss']:.4f}", ips=f"{event['images_per_s']:.1f}")
        elif kind == "head_warmup" and self.task is not None:
            v = event["val"]
            self.console.print(f"probed head: val top1 {v['top1']:.4f} f1 {v['f1']:.4f} ({event['seconds']:.1f} s)")
            if event.get("head_start"):  # where the fine-tune starts, and why
                self.console.print(f"  head_start = {event['head_start']}: {event['reason']}")
        elif kind == "epoch" and self.task is not None:
            v = event["val"]
            self.progress.update(self.task, val=f"top1 {v['top1']:.4f}")
            self.console.print(f"epoch {event['epoch']}/{event['epochs']}: train loss {event['train_loss']:.4f}, "
                               f"val top1 {v['top1']:.4f} f1 {v['f1']:.4f}{'  (best)' if event['best'] else ''}")
        elif kind == "early_stop":
            self.console.print(f"early stop: no improvement for {event['patience']} epochs")
