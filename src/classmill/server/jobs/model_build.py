"""After a training job's run finishes: the files of its model version, then the row.

In the job process, in this order: the evaluation report on the validation split (and on the
test split when the task has one; HTML, PDF and JSON with every figure), the per-image
probabilities behind it (for threshold what-ifs, confusion-cell images and comparisons), the
FP32 bundle — all into a folder named after the job attempt — and only when every file exists,
the model version row, committed under the attempt's guard (services/model_versions.py). A
crash in between leaves a folder without a row, which housekeeping removes; a resumed job builds
again into its new attempt's folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from classmill import atomic

MODELS_FOLDER = "models"
BUNDLE_NAME = "model.cmb"
INT8_BUNDLE_NAME = "model-int8.cmb"
REPORT_FOLDER = "report"
PREDICTIONS_NAME = "predictions.json"


@dataclass(frozen=True)
class BuiltModel:
    folder: Path
    metrics: dict  # {"val": {...}, "test": {...}?}: the report's overall metrics per split
    suggested_thresholds: dict[str, float]  # class -> threshold (0 where no threshold reaches the target)
    size_bytes: int


def model_folder_name(job_id: int, attempt: str) -> str:
    return f"job-{job_id}-{attempt[:12]}"


def build_model_files(workspace: Path, run: Path, job_id: int, attempt: str, splits: tuple[str, ...],
                      progress: Callable[[dict], None]) -> BuiltModel:
    """Evaluate `run` on each split, write its probabilities and export the FP32 bundle."""
    from classmill.evaluate.run import evaluate
    from classmill.export import export_run

    folder = Path(workspace) / MODELS_FOLDER / model_folder_name(job_id, attempt)
    folder.mkdir(parents=True, exist_ok=True)
    metrics, suggested = {}, {}
    for split in splits:
        result = evaluate(run, split=split, out=folder / REPORT_FOLDER / split, pdf=True, progress=progress)
        report = result.report.to_json()
        metrics[split] = {**report["overall"], "n_images": report["n_images"],
                          "per_class": {row["name"]: row for row in report["per_class"]}}
        if split == "val":
            suggested = {name: (point["threshold"] if point["reachable"] else 0.0)
                         for name, point in report["suggested_thresholds"].items()}
        _write_predictions(folder / REPORT_FOLDER / split / PREDICTIONS_NAME, result)
    export_run(run, folder / BUNDLE_NAME, progress=progress)
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return BuiltModel(folder=folder, metrics=metrics, suggested_thresholds=suggested, size_bytes=size)


def _write_predictions(path: Path, result) -> None:
    """Per image: its stored hash (the store names files by hash), true label and probabilities."""
    rows = [{"hash": Path(record.path).stem, "label": record.label,
             "probs": [round(float(p), 6) for p in probs]}
            for record, probs in zip(result.records, result.probs)]
    atomic.write_text(path, json.dumps({"classes": result.classes, "images": rows}, ensure_ascii=False))


def read_predictions(folder: Path, split: str) -> dict:
    return json.loads((folder / REPORT_FOLDER / split / PREDICTIONS_NAME).read_text(encoding="utf-8"))
