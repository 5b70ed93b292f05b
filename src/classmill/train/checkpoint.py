"""Checkpoints: written atomically (a crash leaves the previous one intact), loaded for resume and export."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from classmill import atomic
from classmill.errors import RunStateError
from classmill.infer.calibration import temperature_of
from classmill.preprocess import PreprocessSpec


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic.atomic_open(path, "wb") as fh:
        torch.save(state, fh)


def load_checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise RunStateError(f"{path} does not exist: this run has no checkpoint to continue from.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file must say so, not raise an unpickling traceback
        raise RunStateError(f"{path} cannot be read ({exc}); delete it to fall back to the other checkpoint.") from exc


@dataclass
class TrainedModel:
    """Everything export and evaluation need from a run: weights, labels and preprocessing."""

    model: torch.nn.Module
    model_name: str
    classes: list[str]
    spec: PreprocessSpec
    metrics: dict
    run_id: str
    dataset_hash: str
    epoch: int
    calibration: dict = field(default_factory=dict)  # the run's calibration.json for this checkpoint, or {}

    @property
    def temperature(self) -> float:
        """What the logits are divided by before softmax (1.0: not calibrated)."""
        return temperature_of(self.calibration)


def load_trained_model(run_dir: Path, which: str = "best") -> TrainedModel:
    """Rebuild the model of a run from best.pt (or last.pt) with its labels, preprocessing and, for
    best.pt, the temperature the run fitted for it."""
    from classmill.models import create_model
    from classmill.train.calibrate import read_run_calibration

    path = Path(run_dir) / "checkpoints" / f"{which}.pt"
    state = load_checkpoint(path)
    model = create_model(state["model_name"], num_classes=len(state["classes"]), pretrained=False)
    model.load_state_dict(state["model"])
    model.eval()
    return TrainedModel(model=model, model_name=state["model_name"], classes=list(state["classes"]),
                        spec=PreprocessSpec.from_dict(state["preprocess"]), metrics=dict(state.get("metrics", {})),
                        run_id=state.get("run_id", Path(run_dir).name), dataset_hash=state.get("dataset_hash", ""),
                        epoch=int(state.get("epoch", 0)),
                        calibration=read_run_calibration(Path(run_dir), path) if which == "best" else {})
