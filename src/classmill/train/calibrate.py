"""A finished run's calibration: the temperature of its best checkpoint, fitted on the val split.

Written as calibration.json in the run folder when a run finishes (train, resume or extend, so
the CLI and the platform both get it), with the checksum of the best.pt it belongs to: a later
best.pt (an extend still running, or one that crashed) leaves the old file behind, and
`read_run_calibration` then ignores it rather than apply a temperature fitted for another model.
From the run folder it goes into the bundle (classmill.export) and into the evaluation's
probabilities (classmill.train.predict).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from classmill import atomic
from classmill.checksum import file_sha256
from classmill.errors import UserError
from classmill.evaluate.temperature import fit_temperature
from classmill.infer.calibration import check_calibration
from classmill.preprocess import PreprocessSpec
from classmill.progress import PhaseProgress, ProgressCallback
from classmill.train.checkpoint import load_trained_model
from classmill.train.pipeline import ImageStore
from classmill.train.predict import store_logits
from classmill.train.run_dir import RunDirectory


def calibrate_best(run: RunDirectory, val_store: ImageStore, val_labels: torch.Tensor, spec: PreprocessSpec,
                   batch_size: int, device: torch.device, progress: ProgressCallback | None = None) -> dict:
    """Fit the temperature of run's best.pt on the val images in `val_store`; write and return calibration.json.

    progress: receives classmill.progress events (phase "temperature").
    """
    run.calibration.unlink(missing_ok=True)  # the old fit belongs to an older best.pt, or is damaged
    trained = load_trained_model(run.root)  # as export and evaluation load it
    model = trained.model.to(device).to(memory_format=torch.channels_last)
    tracker = PhaseProgress("temperature", len(val_store), progress)
    logits = store_logits(model, val_store, spec, len(trained.classes), batch_size, device, tracker.advance)
    fit = fit_temperature(logits, val_labels.numpy())
    document = {**fit.to_json("val"), "checkpoint": "best", "checkpoint_epoch": trained.epoch,
                "checkpoint_sha256": file_sha256(run.best)}
    atomic.write_json(run.calibration, document)
    return document


def read_run_calibration(run_root: Path, checkpoint: Path) -> dict:
    """The run's calibration.json when it was fitted for `checkpoint` (that very file); {} otherwise."""
    path = RunDirectory(Path(run_root)).calibration
    try:
        document = check_calibration(json.loads(path.read_text(encoding="utf-8")), source=str(path))
    except FileNotFoundError:
        return {}
    except (ValueError, UserError) as exc:
        raise UserError(f"{path} cannot be used ({exc}). It is written by classmill when a run finishes; delete "
                        "it to use the model uncalibrated (temperature 1).") from exc
    if document.get("checkpoint_sha256") != file_sha256(checkpoint):
        return {}
    return document
