"""The `classmill` command line: one grammar over the library.

Each command group lives in `classmill.commands.<group>` and exposes `register(app)`; heavy
imports (torch, onnxruntime) happen inside the commands so `classmill --help` stays instant.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import typer

from classmill import __version__

COMMAND_MODULES = ("data", "train", "status", "evaluate", "export", "predict", "serve", "sdk", "server")

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="classmill: folders of labelled images in; dataset, model, report, bundle and service out.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"classmill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    pass


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"classmill.commands.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"classmill.commands.{_name}":
            raise
        continue  # group not built yet
    _module.register(app)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """classmill's own warnings as one line, like its errors; others as Python shows them."""
    from classmill.errors import ClassmillWarning

    if issubclass(category, ClassmillWarning):
        typer.secho(f"warning: {message}", fg="yellow", err=True)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main() -> None:
    from classmill.errors import UserError

    warnings.showwarning = _show_warning
    try:
        app()
    except UserError as exc:  # user-fixable: a message, not a traceback
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
