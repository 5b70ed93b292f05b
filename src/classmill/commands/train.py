"""`classmill train`, `classmill stop`, `classmill pause`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import typer

from classmill.train.config import CHOICES, PRESETS


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("stop")(stop_command)
    app.command("pause")(pause_command)


def _choice(name: str) -> str:
    return "|".join(CHOICES[name])


def _default_out(data: Path) -> Path:
    return Path("runs") / f"{data.stem or 'run'}-{time.strftime('%Y%m%d-%H%M%S')}"


def train_command(
    data: Path = typer.Argument(None, help="Dataset (folder, zip, CSV, PaddleClas lists), or a run folder with --extend."),
    out: Path = typer.Option(None, "--out", help="Run folder (default runs/<data>-<time>)."),
    preset: str = typer.Option("balanced", "--preset", help=f"{'|'.join(PRESETS)}"),
    model: str = typer.Option(None, "--model", help="efficientnet_lite0|1|2 (offline) or any timm name."),
    epochs: int = typer.Option(None, "--epochs"),
    batch_size: int = typer.Option(None, "--batch-size"),
    lr: float = typer.Option(None, "--lr"),
    image_size: int = typer.Option(None, "--image-size"),
    optimizer: str = typer.Option(None, "--optimizer", help=_choice("optimizer")),
    scheduler: str = typer.Option(None, "--scheduler", help=_choice("scheduler")),
    warmup_epochs: float = typer.Option(None, "--warmup-epochs"),
    label_smoothing: float = typer.Option(None, "--label-smoothing"),
    loss: str = typer.Option(None, "--loss", help=_choice("loss")),
    class_balance: str = typer.Option(None, "--class-balance", help=_choice("class_balance")),
    augment: str = typer.Option(None, "--augment", help=_choice("augment")),
    freeze: str = typer.Option(None, "--freeze", help=_choice("freeze")),
    mixup: float = typer.Option(None, "--mixup", help="Mixup alpha; 0 = off."),
    ema: bool = typer.Option(None, "--ema/--no-ema"),
    early_stop: int = typer.Option(None, "--early-stop", help="Patience in epochs; 0 = off."),
    select_metric: str = typer.Option(None, "--select-metric", help=_choice("select_metric")),
    seed: int = typer.Option(None, "--seed"),
    val: float = typer.Option(None, "--val", help="Validation fraction when the data has no split."),
    test: float = typer.Option(None, "--test", help="Test fraction when the data has no split."),
    device: str = typer.Option(None, "--device", help=_choice("device")),
    amp: str = typer.Option(None, "--amp", help=_choice("amp")),
    workers: int = typer.Option(None, "--workers"),
    pretrained: bool = typer.Option(None, "--pretrained/--no-pretrained"),
    skip_invalid: bool = typer.Option(None, "--skip-invalid", help="Train on usable images even if some fail checks."),
    resume_run: Path = typer.Option(None, "--resume", help="Continue this paused/stopped/interrupted run."),
    extend_epochs: int = typer.Option(None, "--extend", help="Add N epochs to a finished run (with --resume RUN or DATA=RUN)."),
    as_json: bool = typer.Option(False, "--json", help="Quiet: print events as JSON lines."),
) -> None:
    """Train a classifier. Ctrl-C (or `classmill stop RUN`) finishes the step, checkpoints and exits."""
    from classmill.train import extend, resolve_config, resume, train
    from classmill.train.control import SignalStop

    _init_distributed_from_torchrun()
    run_dir = resume_run
    if run_dir is None and data is not None and (data / "config.yaml").is_file():
        run_dir = data  # `classmill train RUN --extend N`
    reporter = _JsonReporter() if as_json else _RichReporter()
    with SignalStop() as stop, reporter:
        if extend_epochs:
            if run_dir is None:
                raise typer.BadParameter("--extend needs the run: classmill train --resume RUN --extend N")
            result = extend(run_dir, extend_epochs, callbacks=(reporter,), should_stop=stop)
        elif run_dir is not None:
            result = resume(run_dir, callbacks=(reporter,), should_stop=stop)
        else:
            if data is None:
                raise typer.BadParameter("give a dataset: classmill train images/ [--preset fast|balanced|accurate]")
            config = resolve_config(
                preset, data=str(data), model=model, epochs=epochs, batch_size=batch_size, lr=lr,
                image_size=image_size, optimizer=optimizer, scheduler=scheduler, warmup_epochs=warmup_epochs,
                label_smoothing=label_smoothing, loss=loss, class_balance=class_balance, augment=augment,
                freeze=freeze, mixup=mixup, ema=ema, early_stop=early_stop, select_metric=select_metric, seed=seed,
                val=val, test=test, device=device, amp=amp, workers=workers, pretrained=pretrained,
                skip_invalid=skip_invalid)
            result = train(config, out or _default_out(data), callbacks=(reporter,), should_stop=stop)
    if not _finish_distributed():
        return  # rank 0 reports for the whole job
    summary = {"status": result.status, "run_dir": str(result.run_dir), "epochs_completed": result.epochs_completed,
               "best_epoch": result.best_epoch, result.select_metric: result.best_metric,
               "best_metrics": result.best_metrics, "wall_seconds": round(result.wall_seconds, 1)}
    if as_json:
        typer.echo(json.dumps({"type": "result", **summary}))
    else:
        typer.echo(f"{result.status}: best val {result.select_metric} {result.best_metric:.4f} at epoch "
                   f"{result.best_epoch} in {result.wall_seconds:.0f} s -> {result.run_dir}")
        if result.status in ("paused", "stopped"):
            typer.echo(f"continue with: classmill train --resume {result.run_dir}")


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

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, event: dict) -> None:
        kind = event["type"]
        if kind == "start":
            total = event["epochs"] * event["steps_per_epoch"]
            self.steps = event["steps_per_epoch"]
            done = event["epoch"] * self.steps + event["step"]
            self.console.print(f"{'resuming' if event['resumed'] else 'training'}: {event['train_images']} train / "
                               f"{event['val_images']} val images, {len(event['classes'])} classes on {event['device']}")
            self.task = self.progress.add_task("train", total=total, completed=done, epoch=event["epoch"] + 1,
                                               loss="-", ips="-", val="-")
        elif kind == "step" and self.task is not None:
            self.progress.update(self.task, completed=event["epoch"] * self.steps + event["step"],
                                 epoch=event["epoch"] + 1, loss=f"{event['loss']:.4f}", ips=f"{event['images_per_s']:.1f}")
        elif kind == "epoch" and self.task is not None:
            v = event["val"]
            self.progress.update(self.task, val=f"top1 {v['top1']:.4f}")
            self.console.print(f"epoch {event['epoch']}/{event['epochs']}: train loss {event['train_loss']:.4f}, "
                               f"val top1 {v['top1']:.4f} f1 {v['f1']:.4f}{'  (best)' if event['best'] else ''}")
        elif kind == "early_stop":
            self.console.print(f"early stop: no improvement for {event['patience']} epochs")
