"""The "batch_test" job kind: a model version's bundle over every image of an uploaded zip.

params: {"folder": "<name>" (under <workspace>/batch-tests, holding input.zip), "bundle": "<the FP32
bundle's path under the workspace>", "thresholds": {class: threshold}}. Writes into the folder's
results/: predictions.csv (UTF-8 with a BOM, so Excel opens Chinese names; one row per image, an
unreadable file a row whose `error` names the problem) and sorted.zip (sorted_zip.py). When
images sit in folders named after the model's classes, the result has the accuracy against them.
A stopped or repeated attempt starts again from the first image: both files are written atomically.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path, PurePosixPath
from typing import Callable

from classmill import atomic
from classmill.errors import UserError
from classmill.server.jobs.model_predictor import TOP_K, load_model_predictor, uncertain_of

BATCH_TEST_KIND = "batch_test"
BATCH_TESTS_FOLDER = "batch-tests"
INPUT_NAME = "input.zip"
RESULTS_FOLDER = "results"
CSV_NAME = "predictions.csv"
SORTED_NAME = "sorted.zip"
CSV_COLUMNS = ("file", "true_label", "top1", "confidence", "uncertain", "correct", "top5", "error")
_BATCH_SIZE = 32


class _Ended(Exception):
    """A stop or pause request arrived between two batches."""

    def __init__(self, action: str) -> None:
        self.action = action


def batch_folder(workspace: Path, params: dict) -> Path:
    """<workspace>/batch-tests/<params["folder"]>, refusing a name that is not one plain folder name."""
    name = str(params.get("folder", ""))
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise UserError(f"job parameter folder={name!r} is not a plain folder name.")
    return Path(workspace) / BATCH_TESTS_FOLDER / name


def _bundle(workspace: Path, params: dict) -> Path:
    root = Path(workspace).resolve()
    path = (root / str(params.get("bundle", ""))).resolve()
    if not path.is_relative_to(root / "models"):
        raise UserError(f"job parameter bundle={params.get('bundle')!r} is not a bundle under the workspace's models.")
    return path


def run_batch_test(workspace: Path, params: dict, report: Callable[[str, int, int], None],
                   requested: Callable[[], str | None]) -> tuple[str, dict]:
    """Classify the folder's input.zip; returns (job state, result)."""
    from classmill.infer.batch import classify_batches
    from classmill.infer.sources import zip_inputs
    from classmill.server.jobs.sorted_zip import SortedZip

    started = time.perf_counter()
    folder = batch_folder(workspace, params)
    predictor = load_model_predictor(_bundle(workspace, params), params.get("thresholds") or {})
    classes = list(predictor.labels)
    results = folder / RESULTS_FOLDER
    rows, scored = [], []  # scored: (true class index, probabilities) of the images under a class folder
    try:
        with zip_inputs(folder / INPUT_NAME) as inputs, SortedZip(results / SORTED_NAME, classes) as sorted_zip:
            total, done = len(inputs.items), 0
            report("classify", 0, total)
            for batch in classify_batches(predictor, inputs.items, TOP_K, _BATCH_SIZE):
                for item, prediction in batch:
                    truth = _true_label(item.name, classes)
                    rows.append(_row(item.name, truth, prediction))
                    if not isinstance(prediction, str) and truth is not None:
                        scored.append((classes.index(truth), prediction.probs))
                    _sort(sorted_zip, item, prediction)
                done += len(batch)
                report("classify", done, total)
                action = requested()
                if action:
                    raise _Ended(action)
            skipped = len(inputs.skipped)
    except _Ended as ended:
        return ("paused" if ended.action == "pause" else "stopped"), {"images_done": done}
    _write_csv(results / CSV_NAME, rows)
    (folder / INPUT_NAME).unlink(missing_ok=True)  # sorted.zip holds every image now
    errors = sum(1 for row in rows if row["error"])
    flags = [row["uncertain"] for row in rows if not row["error"]]
    counts: dict[str, int] = {}
    for row in rows:
        if not row["error"]:
            counts[row["top1"]] = counts.get(row["top1"], 0) + 1
    return "succeeded", {
        "images": len(rows), "predicted": len(rows) - errors, "errors": errors, "skipped_files": skipped,
        "uncertain": None if "" in flags else flags.count("true"), "label_counts": counts,
        "accuracy": _accuracy(scored, classes, sum(1 for row in rows if row["true_label"])),
        "seconds": round(time.perf_counter() - started, 2)}


def _true_label(name: str, classes: list[str]) -> str | None:
    """The class an image's folder names (images/<class>/x.jpg), if it is one of the model's."""
    parent = PurePosixPath(name).parent.name
    return parent if parent in classes else None


def _row(name: str, truth: str | None, prediction) -> dict:
    row = dict.fromkeys(CSV_COLUMNS, "")
    row.update(file=name, true_label=truth or "")
    if isinstance(prediction, str):
        row["error"] = prediction
        return row
    uncertain, _ = uncertain_of(prediction)
    row.update(top1=prediction.label, confidence=f"{prediction.confidence:.6f}",
               uncertain="" if uncertain is None else str(bool(uncertain)).lower(),
               correct="" if truth is None else str(truth == prediction.label).lower(),
               top5=json.dumps([{"label": label, "confidence": round(float(p), 6)} for label, p in prediction.top_k],
                               ensure_ascii=False))
    return row


def _sort(sorted_zip, item, prediction) -> None:
    try:
        source = item.read()
        data = source.read_bytes() if isinstance(source, Path) else source
    except Exception:  # noqa: BLE001 - an entry that cannot even be read has its CSV row; there is nothing to copy
        return
    if isinstance(prediction, str):
        sorted_zip.add(item.name, data, None)
    else:
        sorted_zip.add(item.name, data, prediction.label, bool(uncertain_of(prediction)[0]))


def _write_csv(path: Path, rows: list[dict]) -> None:
    with atomic.atomic_open(path, "w") as fh:
        fh.write("\ufeff")  # the BOM: without it Excel reads UTF-8 as the local code page and garbles 中文 names
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def _accuracy(scored: list, classes: list[str], labelled: int) -> dict | None:
    """Accuracy, top-5 and per-class numbers (the evaluation report's own metrics) over the images whose
    folder names a class; None when no image sits in such a folder."""
    if not scored:
        return None
    import numpy as np

    from classmill.evaluate.inputs import validate_predictions
    from classmill.evaluate.metrics import compute_class_metrics, compute_overall_metrics

    predictions = validate_predictions(np.array([t for t, _ in scored]), np.stack([p for _, p in scored]), classes)
    overall = compute_overall_metrics(predictions)
    per_class = {row.name: {"images": row.support, "correct": row.correct, "recall": row.recall,
                            "precision": row.precision, "f1": row.f1}
                 for row in compute_class_metrics(predictions) if row.support or row.predicted}
    return {"images": predictions.n_images, "unreadable": labelled - predictions.n_images,
            "accuracy": overall.accuracy, "top5_accuracy": overall.top_k_accuracy.get(min(TOP_K, len(classes))),
            "macro_recall": overall.macro_recall, "per_class": per_class}
