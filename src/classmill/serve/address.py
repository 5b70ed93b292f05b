"""Where the service listens and the address a person opens (no heavy imports: the CLI uses it)."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8987
ALL_INTERFACES = ("0.0.0.0", "::", "")


def service_url(host: str, port: int, path: str = "/upload") -> str:
    """The address a person opens: a wildcard bind is reached through loopback on this machine."""
    shown = "127.0.0.1" if host in ALL_INTERFACES else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}{path}"
