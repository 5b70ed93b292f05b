"""Training: presets, the resumable trainer, stop/pause control and checkpoints.

    from classmill.train import resolve_config, train
    result = train(resolve_config("balanced", data="images/", epochs=3), "runs/first")

`train`'s callbacks receive every event of the run; `Engine` (train.engine) is the same run as an
object with named hook points, for code that needs the model or the optimizer at those points.

Names are loaded on first use (PEP 562): `classmill.train.config` is read by the CLI to build
its help, and that must not import torch — `classmill predict` runs ONNX Runtime, which is
several times slower in a process that has loaded torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "PRESETS": "config", "TrainConfig": "config", "resolve_config": "config",
    "TrainedModel": "checkpoint", "load_trained_model": "checkpoint",
    "read_events": "events", "RunDirectory": "run_dir",
    "Engine": "engine", "HOOKS": "engine",
    "RunResult": "trainer", "train": "trainer", "resume": "trainer", "extend": "trainer", "run_preprocess": "trainer",
}

__all__ = sorted(_EXPORTS) + ["request_control"]


def __getattr__(name: str):
    if name == "request_control":
        from classmill.train.control import request

        return request
    if name not in _EXPORTS:
        raise AttributeError(f"module 'classmill.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"classmill.train.{_EXPORTS[name]}"), name)
