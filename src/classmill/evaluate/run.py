"""Run a trained model (a run folder or an exported bundle) over a dataset split, then build the report.

A run folder is evaluated with PyTorch through exactly the decode + preprocessing that training's
validation uses; a bundle with ONNX Runtime through the bundle's own preprocess.json. Either way
the numbers in the report are the numbers the model gives in use.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from classmill import __version__
from classmill.data import Dataset
from classmill.data.records import ImageRecord
from classmill.errors import ConfigError, UserError
from classmill.evaluate.report import EvaluationReport, build_report
from classmill.image import DEFAULT_MAX_PIXELS

SPLIT_CHOICES = ("val", "test", "train", "all")


@dataclass
class Evaluation:
    report: EvaluationReport
    inference_seconds: float
    report_seconds: float
    images: int


def _is_bundle(source: Path) -> bool:
    return source.is_file() and source.suffix.lower() in (".cmb", ".zip")


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


def _probs_from_run(run_dir: Path, records: list[ImageRecord], batch_size: int):
    import torch

    from classmill.train import load_trained_model
    from classmill.train.pipeline import ImageStore, decode_for_eval, eval_batches

    trained = load_trained_model(run_dir)
    model = trained.model.to(memory_format=torch.channels_last)
    with ThreadPoolExecutor(max_workers=2) as pool, torch.inference_mode():
        store = ImageStore(records, lambda r: decode_for_eval(r, trained.spec), cache=False, pool=pool)
        outputs = [torch.softmax(model(x).float(), dim=1).numpy()
                   for x in eval_batches(store, trained.spec, batch_size, torch.device("cpu"))]
    provenance = {"model": trained.model_name, "run_id": trained.run_id, "checkpoint_epoch": trained.epoch,
                  "trained_on_dataset_hash": trained.dataset_hash}
    return trained.classes, np.concatenate(outputs), provenance


def _probs_from_bundle(bundle: Path, records: list[ImageRecord], batch_size: int, max_pixels: int = DEFAULT_MAX_PIXELS):
    from classmill.infer import Predictor

    predictor = Predictor.load(bundle, max_pixels=max_pixels)
    outputs = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for lo in range(0, len(records), batch_size):
            chunk = records[lo:lo + batch_size]
            x = np.stack(list(pool.map(lambda r: predictor.prepare(r.path), chunk)))
            outputs.append(predictor.predict_proba(x))
    meta = predictor.metadata
    provenance = {"model": meta.get("model", meta.get("model_name", "")), "run_id": meta.get("run_id", ""),
                  "bundle": str(bundle), "trained_on_dataset_hash": meta.get("dataset_hash", "")}
    return list(predictor.labels), np.concatenate(outputs), provenance


def evaluate(source: str | Path, data: str | Path | None = None, *, split: str = "val", out: str | Path | None = None,
             target_recall: float | None = None, target_precision: float | None = None,
             positive_class: str | None = None, pdf: bool = False, batch_size: int = 32,
             max_pixels: int = DEFAULT_MAX_PIXELS) -> Evaluation:
    """Evaluate a run folder or a .cmb bundle on `data` (default: the run's own recorded split).

    max_pixels: images over it are left out of `data` from their header, and refused by a bundle's decoder.
    """
    source = Path(source)
    if not source.exists():
        raise UserError(f"{source}: no such run folder or bundle.")
    if data is None:
        if _is_bundle(source):
            raise UserError("a bundle does not carry its dataset: give the data to evaluate on, "
                            "e.g. classmill evaluate model.cmb images/ --split all")
        from classmill.train.prepare import load_prepared
        from classmill.train.run_dir import RunDirectory

        dataset = load_prepared(RunDirectory(source))
        data_desc = f"run {source.name}"
    else:
        from classmill import data as data_layer
        from classmill.data import DatasetPolicy

        # Any usable image counts for evaluation: class-size rules are about training.
        dataset = data_layer.load(data, DatasetPolicy.for_testing_images(max_pixels=max_pixels))
        data_desc = str(data)
    records = _select(dataset, split, data_desc)
    started = time.perf_counter()
    runner = partial(_probs_from_bundle, max_pixels=max_pixels) if _is_bundle(source) else _probs_from_run
    classes, probs, provenance = runner(source, records, batch_size)
    inference_seconds = time.perf_counter() - started
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({r.label for r in records} - set(index))
    if unknown:
        raise UserError(f"{data_desc} has labels the model was not trained on: {', '.join(unknown)}. "
                        f"The model knows: {', '.join(classes)}.")
    out_dir = Path(out) if out else (source / "evaluation" / split if source.is_dir() else Path("evaluation"))
    provenance.update({"dataset": dataset.source, "dataset_hash": dataset.dataset_hash, "split": split,
                       "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                       "classmill_version": __version__})
    started = time.perf_counter()
    report = build_report(np.array([index[r.label] for r in records]), probs, classes, out_dir,
                          image_paths=[r.path for r in records], provenance=provenance,
                          target_recall=target_recall, target_precision=target_precision,
                          positive_class=positive_class, pdf=pdf)
    return Evaluation(report=report, inference_seconds=inference_seconds,
                      report_seconds=time.perf_counter() - started, images=len(records))
