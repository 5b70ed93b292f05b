"""`evaluate(...)`: pick the images, run the model where its runtime lives, then build the report.

Only orchestration lives here. A run folder's model runs with PyTorch in classmill.train.predict
(the decode + preprocessing training's validation uses); a bundle's with ONNX Runtime in
classmill.infer (the bundle's own preprocess.json). Both give logits; the probabilities are
softmax(logits / T) with the model's temperature (classmill.infer.calibration), the numbers the
exported bundle answers, and the plain softmax too for the ECE before calibration. The report
(classmill.evaluate.report) sees only labels and probabilities. Everything that can be refused
cheaply (what the source is, the split, labels the model does not know, missing or changed images)
is refused before the model runs.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from classmill import __version__
from classmill.data import Dataset
from classmill.data.records import ImageRecord
from classmill.errors import ConfigError, UserError
from classmill.evaluate.report import EvaluationReport, build_report
from classmill.image import DEFAULT_MAX_PIXELS
from classmill.infer.calibration import softmax, temperature_of
from classmill.progress import PhaseProgress, ProgressCallback

SPLIT_CHOICES = ("val", "test", "train", "all")
BUNDLE_SUFFIXES = (".cmb", ".zip")


@dataclass
class Evaluation:
    report: EvaluationReport
    inference_seconds: float
    report_seconds: float
    images: int
    records: list[ImageRecord] | None = None  # the images evaluated, in the order of probs' rows
    probs: np.ndarray | None = None  # (N, C) calibrated probabilities in model.classes order
    classes: list[str] | None = None
    logits: np.ndarray | None = None  # (N, C) what the model output, before softmax and temperature
    temperature: float = 1.0


@dataclass
class _Model:
    """A loaded model, not yet run: its classes, where it came from, and how to run it."""

    classes: list[str]
    provenance: dict
    predict: Callable[[list[ImageRecord], int, Callable[[int], None]], np.ndarray]  # -> logits
    calibration: dict  # its calibration.json, {} when it has none
    fitted_on: set[str] | None = None  # content hashes of the images the temperature was fitted on, if known


def _is_bundle(source: Path) -> bool:
    return source.is_file() and source.suffix.lower() in BUNDLE_SUFFIXES


def _check_source(source: Path) -> None:
    if not source.exists():
        raise UserError(f"{source}: no such run folder or bundle.")
    if _is_bundle(source) or (source / "checkpoints" / "best.pt").is_file():
        return
    raise UserError(
        f"{source}: neither a run folder (no checkpoints/best.pt) nor a bundle (.cmb). Give the folder "
        "`classmill train` wrote (once it has finished an epoch) or a bundle from `classmill export`.")


def _load_run(run_dir: Path) -> _Model:
    from classmill.train import load_trained_model
    from classmill.train.predict import predict_logits

    trained = load_trained_model(run_dir)
    provenance = {"model": trained.model_name, "run_id": trained.run_id, "checkpoint_epoch": trained.epoch,
                  "trained_on_dataset_hash": trained.dataset_hash, "temperature": trained.temperature}
    return _Model(trained.classes, provenance,
                  lambda records, batch_size, advance: predict_logits(trained, records, batch_size, advance),
                  trained.calibration, _run_val_hashes(run_dir) if trained.calibration else None)


def _run_val_hashes(run_dir: Path) -> set[str] | None:
    """Content hashes of the run's val split (what its temperature was fitted on), from its manifest."""
    import json

    from classmill.train.run_dir import RunDirectory

    try:
        manifest = json.loads(RunDirectory(run_dir).manifest.read_text(encoding="utf-8"))
        hashes = {r["content_hash"] for r in manifest["records"] if r.get("split") == "val"}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return hashes if hashes and "" not in hashes else None


def _load_bundle(bundle: Path, max_pixels: int) -> _Model:
    from classmill.infer import Predictor
    from classmill.infer.batch import predict_logits_files

    predictor = Predictor.load(bundle, max_pixels=max_pixels)
    meta = predictor.metadata
    provenance = {"model": meta.get("model", meta.get("model_name", "")), "run_id": meta.get("run_id", ""),
                  "bundle": str(bundle), "trained_on_dataset_hash": meta.get("dataset_hash", ""),
                  "temperature": predictor.temperature}
    return _Model(list(predictor.labels), provenance, lambda records, batch_size, advance: predict_logits_files(
        predictor, [r.path for r in records], batch_size, advance), predictor.bundle.calibration)


def _overlap(model: _Model, dataset: Dataset, records: list[ImageRecord]) -> int | None:
    """How many of `records` the model's temperature was fitted on; None when that cannot be told."""
    if model.fitted_on is not None and all(r.content_hash for r in records):
        return sum(r.content_hash in model.fitted_on for r in records)
    # A bundle knows only the dataset it was trained on: on that very dataset, its val images are the fitted ones.
    if model.provenance.get("trained_on_dataset_hash") == dataset.dataset_hash and dataset.has_split:
        return sum(r.split == model.calibration.get("fitted_on") for r in records)
    return None


def _dataset(source: Path, data: str | Path | None, data_location: str | Path | None,
             max_pixels: int, data_root: str | Path | None) -> tuple[Dataset, str, bool]:
    """(dataset, how to name it in messages, whether it comes from the run's manifest)."""
    if data is not None:
        if data_location is not None:
            raise ConfigError("--data says where a run's own dataset moved to; with DATA given it is not used. "
                              "Drop one of them.")
        from classmill import data as data_layer
        from classmill.data import DatasetPolicy

        # Any usable image counts for evaluation: class-size rules are about training.
        return data_layer.load(data, DatasetPolicy.for_testing_images(max_pixels=max_pixels), root=data_root), str(data), False
    if _is_bundle(source):
        raise UserError("a bundle does not carry its dataset: give the data to evaluate on, "
                        "e.g. classmill evaluate model.cmb images/ --split all")
    from classmill.train.prepare import load_prepared
    from classmill.train.run_dir import RunDirectory

    return load_prepared(RunDirectory(source), data_location), f"run {source.name}", True


def _select(dataset: Dataset, split: str, source_desc: str) -> list[ImageRecord]:
    if split not in SPLIT_CHOICES:
        raise ConfigError(f"--split {split!r} is not one of {', '.join(SPLIT_CHOICES)}.")
    if split == "all" or not dataset.has_split:
        return list(dataset.records)
    chosen = dataset.in_split(split)
    if not chosen:
        raise UserError(f"{source_desc} has no images in the {split!r} split; choose --split "
                        f"{'|'.join(s for s in SPLIT_CHOICES if s == 'all' or dataset.in_split(s))}.")
    return chosen


def evaluate(source: str | Path, data: str | Path | None = None, *, split: str = "val", out: str | Path | None = None,
             target_recall: float | None = None, target_precision: float | None = None,
             positive_class: str | None = None, pdf: bool = False, batch_size: int = 32,
             data_location: str | Path | None = None, progress: ProgressCallback | None = None,
             max_pixels: int = DEFAULT_MAX_PIXELS, data_root: str | Path | None = None) -> Evaluation:
    """Evaluate a run folder or a .cmb bundle on `data` (default: the run's own recorded split).

    data_location: where the run's own dataset is now, if it moved since training.
    progress: receives classmill.progress events (phase "evaluate").
    data_root: the folder the images of a CSV/list `data` must lie in (default: the list's own folder).
    max_pixels: images over it are left out of `data` from their header, and refused by a bundle's decoder.
    """
    source = Path(source)
    _check_source(source)
    dataset, data_desc, from_run = _dataset(source, data, data_location, max_pixels, data_root)
    records = _select(dataset, split, data_desc)
    model = _load_bundle(source, max_pixels) if _is_bundle(source) else _load_run(source)
    index = {c: i for i, c in enumerate(model.classes)}
    unknown = sorted({r.label for r in records} - set(index))
    if unknown:
        raise UserError(f"{data_desc} has labels the model was not trained on: {', '.join(unknown)}. "
                        f"The model knows: {', '.join(model.classes)}.")
    if from_run:
        from classmill.data.manifest import verify_images

        verify_images(records, dataset.source)
    started = time.perf_counter()
    tracker = PhaseProgress("evaluate", len(records), progress)
    logits = model.predict(records, batch_size, tracker.advance)
    tracker.finish()
    temperature = temperature_of(model.calibration)
    probs = softmax(logits, temperature)
    inference_seconds = time.perf_counter() - started
    out_dir = Path(out) if out else (source / "evaluation" / split if source.is_dir() else Path("evaluation"))
    provenance = {**model.provenance, "dataset": dataset.source, "dataset_hash": dataset.dataset_hash,
                  "split": split, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  "classmill_version": __version__}
    started = time.perf_counter()
    report = build_report(np.array([index[r.label] for r in records]), probs, model.classes, out_dir,
                          image_paths=[r.path for r in records], provenance=provenance,
                          target_recall=target_recall, target_precision=target_precision,
                          positive_class=positive_class, pdf=pdf, calibration_fit=model.calibration or None,
                          uncalibrated_probs=softmax(logits) if model.calibration else None,
                          fitted_images_here=_overlap(model, dataset, records) if model.calibration else None)
    return Evaluation(report=report, inference_seconds=inference_seconds,
                      report_seconds=time.perf_counter() - started, images=len(records), records=records,
                      probs=probs, classes=list(model.classes), logits=logits, temperature=temperature)
