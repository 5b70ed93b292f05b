"""`classmill evaluate RUN_OR_BUNDLE [DATA]`: the report a user acts on."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from classmill.commands.predict import MAX_MEGAPIXELS_HELP


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)


def evaluate_command(
    source: Path = typer.Argument(..., help="Run folder or exported .cmb bundle."),
    data: Path = typer.Argument(None, help="Dataset to evaluate on (default: the run's own split)."),
    split: str = typer.Option("val", "--split", help="val|test|train|all"),
    out: Path = typer.Option(None, "--out", help="Report folder (default RUN/evaluation/<split>)."),
    target_recall: float = typer.Option(None, "--target-recall", help="Suggest a threshold reaching this recall, e.g. 0.99."),
    target_precision: float = typer.Option(None, "--target-precision", help="Suggest a threshold reaching this precision."),
    positive_class: str = typer.Option(None, "--positive-class", help="Class the targets apply to (binary default: the rarer)."),
    pdf: bool = typer.Option(False, "--pdf", help="Also write report.pdf."),
    as_json: bool = typer.Option(False, "--json", help="Print report.json instead of a summary."),
    data_location: Path = typer.Option(None, "--data", help="Where the run's own dataset is now, if it moved "
                                       "since training (folder, zip or CSV); the run's recorded split is used."),
    max_megapixels: float = typer.Option(None, "--max-megapixels", show_default=False, help=MAX_MEGAPIXELS_HELP),
    data_root: Path = typer.Option(None, "--data-root", help="Folder the images of a CSV or list DATA must lie "
                                   "in (default: the list's own folder)."),
) -> None:
    """Accuracy, top-k, precision/recall/F1, AUC, kappa, confusion matrix, curves, thresholds,
    misclassified examples and calibration, as report.json + a self-contained report.html."""
    from classmill.commands.progress_display import PhaseBars
    from classmill.evaluate.run import evaluate
    from classmill.image import max_pixels_option

    with PhaseBars() as bars:
        result = evaluate(source, data, split=split, out=out, target_recall=target_recall,
                          target_precision=target_precision, positive_class=positive_class, pdf=pdf,
                          data_location=data_location, progress=bars, max_pixels=max_pixels_option(max_megapixels),
                          data_root=data_root)
    report = result.report
    if as_json:
        typer.echo(report.json_path.read_text(encoding="utf-8"))
        return
    o = report.overall
    typer.echo(f"{report.conclusion.verdict}: {report.conclusion.text}")
    typer.echo(f"{o.n_images} images, accuracy {o.accuracy:.4f}, macro F1 {o.macro_f1:.4f}"
               + (f", macro AUC {o.macro_auc:.4f}" if o.macro_auc is not None else ""))
    if report.temperature is not None:
        from classmill.evaluate.report import calibration_note

        typer.echo(calibration_note(report.temperature, report.calibration, o.n_images))
    for point in report.operating_points:
        typer.echo(point.message)
    total = result.inference_seconds + result.report_seconds
    typer.echo(f"inference {result.inference_seconds:.1f} s, report {result.report_seconds:.1f} s "
               f"({result.report_seconds / total:.0%} of {total:.1f} s)")
    typer.echo(f"report: {report.html_path}")
    typer.echo(f"data:   {report.json_path}")
