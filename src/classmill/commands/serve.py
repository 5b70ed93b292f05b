"""`classmill serve BUNDLE`: the bundle as an HTTP API with an upload page (the offline SDK).

Like `predict`, imports only classmill.infer/serve: never torch.
"""

from __future__ import annotations

from pathlib import Path

import typer

from classmill.commands.predict import MAX_MEGAPIXELS_HELP

DEFAULT_PORT = 8987
_ALL_INTERFACES = ("0.0.0.0", "::", "")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def service_url(host: str, port: int, path: str = "/upload") -> str:
    """The address a person opens: a wildcard bind is reached through loopback on this machine."""
    shown = "127.0.0.1" if host in _ALL_INTERFACES else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}{path}"


def serve_command(
    bundle: Path = typer.Argument(..., metavar="BUNDLE", help="Bundle file (.cmb) written by `classmill export`."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on; 0.0.0.0 exposes it to the network."),
    port: int = typer.Option(DEFAULT_PORT, "--port"),
    int8: bool = typer.Option(False, "--int8", help="Serve the bundle's INT8 model (export --int8)."),
    max_megapixels: float = typer.Option(
        None, "--max-megapixels", show_default=False,
        help=MAX_MEGAPIXELS_HELP + " Other limits: CLASSMILL_SERVE_* environment variables "
             "(MAX_UPLOAD_MB, MAX_BATCH_FILES, MAX_CONCURRENT_DECODES, ...)."),
) -> None:
    """Serve a bundle: upload page at /upload, JSON API at /predict, API docs at /docs. Ctrl-C stops it."""
    from classmill.infer import read_bundle
    from classmill.serve import load_settings, run_server

    # Fail on a wrong path, a bundle without INT8 or a bad limit before announcing an address.
    settings = load_settings(max_megapixels=max_megapixels)
    loaded = read_bundle(bundle)
    loaded.model_bytes(int8)
    name = loaded.metadata.get("name") or bundle.stem
    typer.echo(f"serving {name} ({len(loaded.labels)} classes{', int8' if int8 else ''}) "
               f"at {service_url(host, port)}  (API docs: {service_url(host, port, '/docs')})")
    if host in _ALL_INTERFACES:
        typer.echo("note: listening on every interface, without authentication; anyone on the network can use it.")
    del loaded
    run_server(bundle, host, port, int8=int8, settings=settings)
