"""Training: presets, the resumable trainer, stop/pause control and checkpoints.

    from classmill.train import resolve_config, train
    result = train(resolve_config("balanced", data="images/", epochs=3), "runs/first")
"""

from classmill.train.checkpoint import TrainedModel, load_trained_model
from classmill.train.config import PRESETS, TrainConfig, resolve_config
from classmill.train.control import request as request_control
from classmill.train.events import read_events
from classmill.train.run_dir import RunDirectory
from classmill.train.trainer import RunResult, extend, resume, run_preprocess, train

__all__ = [
    "PRESETS", "RunDirectory", "RunResult", "TrainConfig", "TrainedModel", "extend", "load_trained_model",
    "read_events", "request_control", "resolve_config", "resume", "run_preprocess", "train",
]
