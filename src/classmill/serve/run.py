"""Run the service with uvicorn: `classmill serve` and the runtime's `classmill-serve` both end here."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from classmill.serve.address import ALL_INTERFACES, service_url
from classmill.serve.app import create_app
from classmill.serve.settings import ServeSettings


def run_server(
    bundle_path: str | Path, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info", **app_options
) -> None:
    """Serve a bundle until interrupted. host defaults to loopback: pass "0.0.0.0" to expose it.

    app_options: create_app keywords (max_upload_mb, batch_window_ms, int8, thresholds, ...).
    """
    import uvicorn

    app = create_app(bundle_path, **app_options)
    # One process: dynamic batching needs every request to reach the same queue, and ORT
    # already uses every core inside each call.
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1)


def serve_bundle(
    bundle: Path, host: str, port: int, *, int8: bool, settings: ServeSettings,
    thresholds_file: Path | None = None, echo: Callable[[str], None] = print,
) -> None:
    """Check everything a person can get wrong, say where the service is, then serve until Ctrl-C.

    thresholds_file: a JSON {class name: threshold} served instead of the bundle's own thresholds.
    """
    from classmill.infer import read_bundle, read_thresholds_file

    # Fail on a wrong path, a bundle without INT8 or bad thresholds before announcing an address.
    loaded = read_bundle(bundle)
    loaded.model_bytes(int8)
    thresholds: Mapping[str, float] | None = None
    if thresholds_file is not None:
        thresholds = read_thresholds_file(thresholds_file, loaded.labels)
    in_force = loaded.thresholds if thresholds is None else thresholds
    name = loaded.metadata.get("name") or bundle.stem
    echo(f"serving {name} ({len(loaded.labels)} classes{', int8' if int8 else ''}"
         f"{f', thresholds for {len(in_force)}' if in_force else ''}) at {service_url(host, port)}  "
         f"(API: {service_url(host, port, '/predict')}, docs: {service_url(host, port, '/docs')})")
    if host in ALL_INTERFACES:
        echo("note: listening on every interface, without authentication; anyone on the network can use it.")
    del loaded
    run_server(bundle, host, port, int8=int8, settings=settings, thresholds=thresholds)
