"""export_run: a training run folder -> a bundle, with the run's provenance and metrics in it.

The CLI (`classmill export RUN`) and the platform server's export job both call this, so a
bundle made either way carries the same metadata and the same INT8 calibration.
"""

from __future__ import annotations

import json
from pathlib import Path

from classmill.data.manifest import verify_images
from classmill.data.records import ImageRecord
from classmill.export.bundle import BundleInfo, export_bundle
from classmill.export.errors import ExportError
from classmill.train.checkpoint import load_trained_model
from classmill.train.prepare import load_prepared
from classmill.progress import ProgressCallback
from classmill.train.run_dir import RunDirectory

DEFAULT_BUNDLE_NAME = "model.cmb"
CHECKPOINTS = ("best", "last")
# onnxruntime's min/max calibration settles within a few dozen images for classifiers; 100 keeps
# an export of a 224 px model to seconds on a laptop CPU.
DEFAULT_CALIBRATION_IMAGES = 100


def default_bundle_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / "export" / DEFAULT_BUNDLE_NAME


def export_run(
    run_dir: str | Path,
    out_path: str | Path | None = None,
    *,
    int8: bool = False,
    torchscript: bool = False,
    which: str = "best",
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
    data_location: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> BundleInfo:
    """Export a run's checkpoint as a bundle (default RUN/export/model.cmb).

    int8: also write an INT8 model, calibrated on up to `calibration_images` training images
    (stratified by class) and measured against FP32 on the run's validation split; both
    accuracies land in metadata["formats"]["onnx-int8"]["eval"].
    which: "best" (best validation score) or "last" checkpoint. A finished run's best checkpoint
    carries the temperature the run fitted on its val split (calibration.json); last.pt has none.
    data_location: where the run's dataset is now, if it moved since training (INT8 reads its images).
    progress: receives classmill.progress events (INT8 calibration and accuracy check).
    """
    run = RunDirectory(Path(run_dir))
    if which not in CHECKPOINTS:
        raise ExportError(f"which must be one of {', '.join(CHECKPOINTS)}; got {which!r}.")
    if not run.root.is_dir():
        raise ExportError(f"{run.root}: no such run folder. Give the folder `classmill train` wrote (runs/...).")
    checkpoint = run.best if which == "best" else run.last
    if not checkpoint.is_file():
        raise ExportError(
            f"{run.root}: has no {checkpoint.relative_to(run.root)}; it is not a run folder, or its training "
            "has not finished an epoch yet. Let it finish (or resume it) and export again."
        )
    trained = load_trained_model(run.root, which)
    metadata = {
        "name": trained.run_id,
        "model_name": trained.model_name,
        "run_id": trained.run_id,
        "dataset_hash": trained.dataset_hash,
        "checkpoint": which,
        "epoch": trained.epoch,
        "val_metrics": _val_metrics(run, which, trained.metrics),
    }
    calibration, evaluation = None, None
    if int8:
        calibration, evaluation = _int8_inputs(run, trained.classes, calibration_images, data_location)
    return export_bundle(
        trained.model,
        trained.spec,
        trained.classes,
        out_path if out_path is not None else default_bundle_path(run.root),
        metadata=metadata,
        int8_calibration_images=calibration,
        int8_eval=evaluation,
        torchscript=torchscript,
        calibration=trained.calibration or None,
        progress=progress,
    )


def _val_metrics(run: RunDirectory, which: str, from_checkpoint: dict) -> dict:
    if from_checkpoint:
        return from_checkpoint
    # last.pt keeps the history rather than its own metrics; its final epoch is the one exported.
    try:
        history = json.loads(run.metrics.read_text(encoding="utf-8")).get("history", [])
    except (FileNotFoundError, ValueError):
        return {}
    return dict(history[-1].get("val", {})) if which == "last" and history else {}


def stratified_sample(records: list[ImageRecord], limit: int) -> list[ImageRecord]:
    """Up to `limit` records taking classes in turn, so a rare class is calibrated too."""
    by_label: dict[str, list[ImageRecord]] = {}
    for record in records:
        by_label.setdefault(record.label, []).append(record)
    queues = [list(reversed(group)) for group in by_label.values()]
    chosen: list[ImageRecord] = []
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop())
    return chosen


def _int8_inputs(
    run: RunDirectory, classes: list[str], limit: int, data_location: str | Path | None
) -> tuple[list[Path], tuple[list[Path], list[int]] | None]:
    if limit < 1:
        raise ExportError(f"INT8 calibration needs at least one image; got calibration_images={limit}.")
    if not run.manifest.is_file():
        raise ExportError(
            f"{run.root}: has no {run.manifest.relative_to(run.root)}, so there are no training images to "
            "calibrate INT8 with. Export without --int8, or export a complete run folder."
        )
    dataset = load_prepared(run, data_location)
    calibration = stratified_sample(dataset.in_split("train"), limit)
    val = dataset.in_split("val")
    if not calibration:
        raise ExportError(f"{run.root}: the run's split has no training images to calibrate INT8 with.")
    verify_images(calibration + val, dataset.source)
    class_id = {name: i for i, name in enumerate(classes)}
    evaluation = ([r.path for r in val], [class_id[r.label] for r in val]) if val else None
    return [r.path for r in calibration], evaluation

