"""`classmill predict BUNDLE INPUT`: test a bundle on one image, a folder or a zip.

Imports only classmill.infer (ONNX Runtime), never torch: ONNX Runtime runs several times slower
in a process that has loaded torch's own thread pools and allocator.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

_MAX_ERRORS_SHOWN = 20
# The default is classmill.image.DEFAULT_MAX_PIXELS (a test keeps the two equal); importing it here
# would load numpy for every CLI command.
MAX_MEGAPIXELS_HELP = "Refuse images with more megapixels than this, from their header, before decoding (default 40)."
THRESHOLDS_HELP = ("JSON file {class name: threshold in [0, 1]} to use instead of the bundle's thresholds.json: "
                   "an answer below its class's threshold is marked uncertain.")


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)


def predict_command(
    bundle: Path = typer.Argument(..., metavar="BUNDLE", help="Bundle file (.cmb) written by `classmill export`."),
    input_path: Path = typer.Argument(..., metavar="INPUT", help="An image, a folder of images (recursive) or a .zip."),
    top_k: int = typer.Option(5, "--top-k", help="How many labels to list per image."),
    out: Path = typer.Option(Path("predictions"), "--out",
                             help="Folder for the result picture (one image) or predictions.csv (folder/zip)."),
    sort: bool = typer.Option(False, "--sort", help="Folder/zip: also copy each image into OUT/<predicted label>/."),
    int8: bool = typer.Option(False, "--int8", help="Use the bundle's INT8 model (export --int8)."),
    batch_size: int = typer.Option(32, "--batch-size", help="Images per ONNX Runtime call (folder/zip)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    max_megapixels: float = typer.Option(None, "--max-megapixels", show_default=False, help=MAX_MEGAPIXELS_HELP),
    thresholds: Path = typer.Option(None, "--thresholds", show_default=False, help=THRESHOLDS_HELP),
) -> None:
    """Classify one image (table + result picture) or every image of a folder/zip (predictions.csv)."""
    from classmill.errors import UserError
    from classmill.image import max_pixels_option
    from classmill.infer import Predictor, read_thresholds_file

    if not input_path.exists():
        raise UserError(f"{input_path}: does not exist. Give an image, a folder of images or a .zip.")
    predictor = Predictor.load(bundle, int8=int8, max_pixels=max_pixels_option(max_megapixels))
    if thresholds is not None:
        predictor = predictor.with_thresholds(read_thresholds_file(thresholds, predictor.labels))
    if input_path.is_dir() or input_path.suffix.lower() == ".zip":
        _predict_batch(predictor, input_path, out, top_k, sort, batch_size, as_json)
    else:
        if sort:
            raise typer.BadParameter("--sort copies a folder's or zip's images into class folders; "
                                     "INPUT is a single image.", param_hint="--sort")
        _predict_one(predictor, input_path, out, top_k, as_json)


def _predict_one(predictor, image_path: Path, out: Path, top_k: int, as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from classmill.atomic import atomic_open
    from classmill.infer import render_result_image

    image = predictor.decode(image_path)  # decoded once: for the model and for the picture
    prediction = predictor.predict([image], top_k)[0]
    out.mkdir(parents=True, exist_ok=True)
    result_path = out / f"{image_path.stem}.prediction.png"
    with atomic_open(result_path, "wb") as fh:
        render_result_image(image, prediction).save(fh, format="PNG")
    if as_json:
        typer.echo(json.dumps({"file": str(image_path), **prediction.to_dict(), "int8": predictor.int8,
                               "result_image": str(result_path)}, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{image_path.name}{' (int8)' if predictor.int8 else ''}")
    table.add_column("#", justify="right")
    table.add_column("label")
    table.add_column("confidence", justify="right")
    for rank, (label, prob) in enumerate(prediction.top_k, 1):
        style = "bold green" if rank == 1 else ""
        table.add_row(str(rank), label, f"{prob:.2%}", style=style)
    console = Console()
    console.print(table)
    if prediction.uncertain:
        console.print(f"[bold yellow]uncertain:[/] {prediction.confidence:.2%} is below the {prediction.threshold:.2%} "
                      f"threshold set for {prediction.label!r}", highlight=False)
    console.print(f"result picture: {result_path}", highlight=False)


def _predict_batch(predictor, input_path: Path, out: Path, top_k: int, sort: bool, batch_size: int,
                   as_json: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from classmill.errors import UserError
    from classmill.infer import predict_many

    console = Console(stderr=as_json)
    progress = Progress(TextColumn("classifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=console, disable=as_json)
    with progress:
        task = progress.add_task("classify", total=None)
        result = predict_many(predictor, input_path, out, top_k, batch_size, sort_into_folders=sort,
                              progress=lambda done, total: progress.update(task, completed=done, total=total))
    if result.total == 0:
        raise UserError(f"{input_path}: no image files found ({len(result.skipped)} other files). "
                        "Give a folder or zip with JPEG/PNG/... images.")
    if as_json:
        typer.echo(json.dumps({
            "csv": str(result.csv_path), "total": result.total, "predicted": result.predicted,
            "label_counts": result.label_counts, "uncertain": result.uncertain,
            "errors": [{"path": p, "error": e} for p, e in result.errors],
            "skipped": result.skipped, "sorted_dir": str(result.sorted_dir) if result.sorted_dir else None,
            "seconds": round(result.seconds, 3), "images_per_second": round(result.images_per_second, 1),
            "int8": predictor.int8,
        }, indent=2, ensure_ascii=False))
        return
    _print_summary(console, result)


def _print_summary(console, result) -> None:
    from rich.table import Table

    table = Table(title=f"{result.predicted} of {result.total} images classified")
    table.add_column("label")
    table.add_column("images", justify="right")
    table.add_column("share", justify="right")
    for label, n in sorted(result.label_counts.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(label, str(n), f"{n / max(result.predicted, 1):.1%}")
    console.print(table)
    if result.uncertain:
        console.print(f"{result.uncertain} of them uncertain (below their class's threshold; "
                      "column `uncertain` in the CSV)", highlight=False)
    if result.errors:
        console.print(f"[red]{result.failed} file(s) could not be classified[/] (rows with an error in the CSV):")
        for path, error in result.errors[:_MAX_ERRORS_SHOWN]:
            console.print(f"    {path}: {error}", highlight=False, markup=False)
        if result.failed > _MAX_ERRORS_SHOWN:
            console.print(f"    ... and {result.failed - _MAX_ERRORS_SHOWN} more")
    if result.skipped:
        console.print(f"skipped {len(result.skipped)} file(s) that are not images by their extension", highlight=False)
    console.print(f"{result.images_per_second:.1f} img/s; predictions: {result.csv_path}", highlight=False)
    if result.sorted_dir is not None:
        console.print(f"copies sorted into {result.sorted_dir}/<label>/", highlight=False)
