"""`classmill serve BUNDLE`: the bundle as an HTTP API with an upload page (the offline SDK).

Like `predict`, imports only classmill.infer/serve: never torch. The offline SDK's runtime runs the
same service with `classmill-serve` (classmill.serve.cli); both end in classmill.serve.run.
"""

from __future__ import annotations

from pathlib import Path

import typer

from classmill.commands.predict import MAX_MEGAPIXELS_HELP, THRESHOLDS_HELP
from classmill.serve.address import DEFAULT_HOST, DEFAULT_PORT, service_url

__all__ = ["register", "serve_command", "service_url"]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    bundle: Path = typer.Argument(..., metavar="BUNDLE", help="Bundle file (.cmb) written by `classmill export`."),
    host: str = typer.Option(DEFAULT_HOST, "--host", help="Interface to listen on; 0.0.0.0 exposes it to the network."),
    port: int = typer.Option(DEFAULT_PORT, "--port"),
    int8: bool = typer.Option(False, "--int8", help="Serve the bundle's INT8 model (export --int8)."),
    thresholds: Path = typer.Option(None, "--thresholds", show_default=False, help=THRESHOLDS_HELP),
    max_megapixels: float = typer.Option(
        None, "--max-megapixels", show_default=False,
        help=MAX_MEGAPIXELS_HELP + " Other limits: CLASSMILL_SERVE_* environment variables "
             "(MAX_UPLOAD_MB, MAX_BATCH_FILES, MAX_CONCURRENT_DECODES, ...)."),
) -> None:
    """Serve a bundle: upload page at /upload, JSON API at /predict, API docs at /docs. Ctrl-C stops it."""
    from classmill.serve import load_settings, serve_bundle

    settings = load_settings(max_megapixels=max_megapixels)
    serve_bundle(bundle, host, port, int8=int8, settings=settings, thresholds_file=thresholds, echo=typer.echo)
