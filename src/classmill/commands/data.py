"""`classmill data check|split`: validate and split a dataset."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from classmill.commands.progress_display import PhaseBars
from classmill.data.report import DatasetReport

_MAX_SHOWN_PER_RULE = 20
_ROOT_HELP = ("CSV / PaddleClas lists on disk: the folder their images must lie in (default: the list's own "
              "folder). Paths leaving it are refused.")

data_app = typer.Typer(no_args_is_help=True, help="Check and split datasets.")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


def _policy(deep: bool, min_images: int | None, max_file_mb: float | None, allow_tiff: bool):
    from classmill.data import DatasetPolicy
    from classmill.data.policy import TESTING_FORMATS

    return DatasetPolicy().with_overrides(
        deep=deep or None,
        min_images_per_class=min_images,
        max_file_bytes=int(max_file_mb * 2**20) if max_file_mb else None,
        formats=TESTING_FORMATS if allow_tiff else None,
    )


def print_report(report: DatasetReport, console: Console) -> None:
    rows = report.class_rows()
    table = Table(title=f"{report.dataset.source} ({report.dataset.kind})")
    table.add_column("class")
    table.add_column("images", justify="right")
    table.add_column("share", justify="right")
    has_split = report.dataset.has_split
    if has_split:
        for s in ("train", "val", "test"):
            table.add_column(s, justify="right")
    table.add_column("status")
    colours = {"ok": "green", "warning": "yellow", "error": "red"}
    for row in rows:
        cells = [row["label"], str(row["images"]), f"{row['share']:.1%}"]
        if has_split:
            cells += [str(row[s]) for s in ("train", "val", "test")]
        cells.append(f"[{colours[row['status']]}]{row['status']}[/]")
        table.add_row(*cells)
    console.print(table)
    for severity, problems in (("error", report.errors), ("warning", report.warnings)):
        by_rule: dict[str, list] = {}
        for p in problems:
            by_rule.setdefault(p.rule, []).append(p)
        for rule, items in by_rule.items():
            colour = "red" if severity == "error" else "yellow"
            console.print(f"[{colour}]{severity}[/] [bold]{rule}[/] ({len(items)}): {items[0].fix}")
            for p in items[:_MAX_SHOWN_PER_RULE]:
                console.print(f"    {p.message}", highlight=False, markup=False)
            if len(items) > _MAX_SHOWN_PER_RULE:
                console.print(f"    ... and {len(items) - _MAX_SHOWN_PER_RULE} more (see --json)")
    console.print(("[green]" if report.ok else "[red]") + report.summary() + "[/]")


@data_app.command("check")
def check_command(
    path: Path = typer.Argument(..., help="Folder of class folders, .zip, CSV, or folder with PaddleClas lists."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
    deep: bool = typer.Option(False, "--deep", help="Decode every image fully (slower; finds damage headers miss)."),
    min_images: int = typer.Option(None, "--min-images", help="Minimum images per class (default 20)."),
    max_file_mb: float = typer.Option(None, "--max-file-mb", help="Largest accepted file in MB (default 4)."),
    allow_tiff: bool = typer.Option(False, "--allow-tiff", help="Accept TIFF (allowed for testing images)."),
    root: Path = typer.Option(None, "--data-root", "--root", help=_ROOT_HELP),
) -> None:
    """Check a dataset against the platform rules; exit code 1 when there are errors."""
    from classmill.data import check

    # Progress goes to stderr, so --json's stdout stays one JSON document.
    with PhaseBars() as bars:
        report = check(path, _policy(deep, min_images, max_file_mb, allow_tiff), root=root, progress=bars)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_report(report, Console())
    raise typer.Exit(0 if report.ok else 1)


@data_app.command("split")
def split_command(
    path: Path = typer.Argument(..., help="Dataset to split (any readable form)."),
    out: Path = typer.Option(..., "--out", help="Folder for labels.txt, train/val/test_list.txt and manifest.json."),
    val: float = typer.Option(0.2, "--val", help="Fraction of each class for validation."),
    test: float = typer.Option(0.1, "--test", help="Fraction of each class for testing (0 = no test split)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the content hash that orders images."),
    as_json: bool = typer.Option(False, "--json", help="Print counts as JSON."),
    force: bool = typer.Option(False, "--force", help="Re-split from scratch when --out holds a split made with "
                               "other --val/--test/--seed (images may change splits)."),
    root: Path = typer.Option(None, "--data-root", "--root", help=_ROOT_HELP),
) -> None:
    """Stratified, stable split: existing assignments in --out are kept when images are added."""
    from classmill.data import split

    with PhaseBars() as bars:
        result = split(path, val=val, test=test, seed=seed, out=out, force=force, root=root, progress=bars)
    counts = result.counts()
    if as_json:
        typer.echo(json.dumps({"out": str(out), "kept": result.kept, "counts": counts,
                               "warnings": [p.to_dict() for p in result.problems]}, indent=2, ensure_ascii=False))
        return
    console = Console()
    table = Table(title=f"split of {path} -> {out}")
    for col in ("class", "train", "val", "test"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for label in result.dataset.classes:
        table.add_row(label, *(str(counts[s][label]) for s in ("train", "val", "test")))
    console.print(table)
    for p in result.problems:
        console.print(f"[yellow]warning[/] {p.message}. {p.fix}", highlight=False)
    if result.kept:
        console.print(f"kept the earlier split of {result.kept} image(s) in {out}")
