"""`classmill export RUN`: a run's checkpoint -> an inference bundle (.cmb)."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)


def export_command(
    run: Path = typer.Argument(..., help="Run folder written by `classmill train`."),
    out: Path = typer.Option(None, "--out", help="Bundle file to write (default RUN/export/model.cmb)."),
    int8: bool = typer.Option(False, "--int8", help="Also write an INT8 model, calibrated on the run's training "
                                                     "images and checked on its validation split."),
    torchscript: bool = typer.Option(False, "--torchscript",
                                     help="Also write a TorchScript model (needs torch to load)."),
    which: str = typer.Option("best", "--which", help="Checkpoint to export: best|last."),
    as_json: bool = typer.Option(False, "--json", help="Print the bundle's metadata as JSON."),
    data_location: Path = typer.Option(None, "--data", help="With --int8: where the run's dataset is now, if it "
                                       "moved since training (folder, zip or CSV)."),
) -> None:
    """Export a trained run as a bundle: ONNX FP32 (+ INT8, TorchScript), labels, preprocessing, metadata."""
    from rich.console import Console

    from classmill.commands.progress_display import PhaseBars
    from classmill.export import export_run

    console = Console(stderr=as_json)
    if data_location is not None and not int8:
        raise typer.BadParameter("--data is only read by --int8 (calibration uses the run's training images).")
    # INT8 calibration and its accuracy check take minutes on big models: bars with an ETA then.
    display = PhaseBars(console) if int8 else console.status(f"exporting {run} ({which} checkpoint)...")
    with display:
        info = export_run(run, out, int8=int8, torchscript=torchscript, which=which, data_location=data_location,
                          progress=display if int8 else None)
    if as_json:
        typer.echo(json.dumps({"path": str(info.path), "bytes": info.size_bytes, "files": list(info.files),
                               "seconds": round(info.seconds, 2), "metadata": info.metadata},
                              indent=2, ensure_ascii=False))
        return
    meta = info.metadata
    console.print(f"exported {meta['model_name']} ({meta['num_classes']} classes, {meta['checkpoint']} checkpoint, "
                  f"epoch {meta['epoch']}) -> [bold]{info.path}[/] ({info.size_bytes / 2**20:.1f} MB, "
                  f"{info.seconds:.1f} s)", highlight=False)
    console.print("files: " + ", ".join(info.files), highlight=False)
    top1 = meta.get("val_metrics", {}).get("top1")
    if top1 is not None:
        console.print(f"run's val top-1 (PyTorch): {top1:.4f}", highlight=False)
    int8_info = meta["formats"].get("onnx-int8")
    if int8_info:
        console.print(_int8_line(int8_info), highlight=False)
        evaluation = int8_info.get("eval")
        if evaluation and evaluation["int8_accuracy"] < evaluation["fp32_accuracy"] - _INT8_TOLERATED_LOSS:
            # Post-training INT8 can lose many points on some architectures (other timm nets);
            # the user must see it here, not find it in production.
            console.print(f"[bold red]warning:[/] INT8 loses {evaluation['fp32_accuracy'] - evaluation['int8_accuracy']:.1%} "
                          "of val accuracy; use the FP32 model (the default: `classmill predict/serve` without --int8).",
                          highlight=False)
    console.print(f"try it: classmill predict {info.path} IMAGE_OR_FOLDER   serve it: classmill serve {info.path}   "
                  f"ship it: classmill sdk {info.path}", highlight=False)


_INT8_TOLERATED_LOSS = 0.01


def _int8_line(int8_info: dict) -> str:
    evaluation = int8_info.get("eval")
    if evaluation is None:
        return (f"INT8: calibrated on {int8_info['calibration_images']} images; top-1 agrees with FP32 on "
                f"{int8_info['top1_agreement_with_fp32_on_calibration']:.1%} of them (the run has no val split)")
    return (f"val accuracy on {evaluation['images']} images: FP32 {evaluation['fp32_accuracy']:.4f}, "
            f"INT8 {evaluation['int8_accuracy']:.4f} (top-1 agreement {evaluation['top1_agreement']:.1%}; "
            f"calibrated on {int8_info['calibration_images']} training images)")
