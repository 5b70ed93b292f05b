"""The inference HTTP service for one bundle (the offline SDK). Never imports torch.

The public names load on first use (PEP 562), so `classmill.serve.address` stays cheap for the
CLI, which imports every command module at start.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ServeSettings": "classmill.serve.settings",
    "load_settings": "classmill.serve.settings",
    "create_app": "classmill.serve.app",
    "run_server": "classmill.serve.run",
    "serve_bundle": "classmill.serve.run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'classmill.serve' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
