"""Run the service with uvicorn."""

from __future__ import annotations

from pathlib import Path

from classmill.serve.app import create_app


def run_server(
    bundle_path: str | Path, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info", **app_options
) -> None:
    """Serve a bundle until interrupted. host defaults to loopback: pass "0.0.0.0" to expose it.

    app_options: create_app keywords (max_upload_mb, batch_window_ms, int8, ...).
    """
    import uvicorn

    app = create_app(bundle_path, **app_options)
    # One process: dynamic batching needs every request to reach the same queue, and ORT
    # already uses every core inside each call.
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1)
