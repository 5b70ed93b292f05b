"""Batch prediction: classify an image, a folder or a zip into predictions.csv.

Decoding runs in a thread pool one batch ahead of ONNX Runtime: Pillow's decoders release the
GIL, so both cores stay busy instead of ORT waiting on JPEG decoding and vice versa.
"""

from __future__ import annotations

import csv
import re
import time
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import numpy as np
from PIL import UnidentifiedImageError

from classmill.atomic import atomic_open, write_bytes
from classmill.errors import DatasetError, UserError
from classmill.image import MAX_PIXELS_OPTION, TooManyPixelsError
from classmill.infer.calibration import softmax
from classmill.infer.predictor import Prediction, Predictor, usable_cores
from classmill.infer.sources import InputItem, collect_inputs

CSV_NAME = "predictions.csv"
# uncertain/threshold come last so readers that index the first five columns still work.
CSV_COLUMNS = ("path", "top1", "confidence", "topk", "error", "uncertain", "threshold")
ProgressCallback = Callable[[int, int], None]  # (files done, files total)


@dataclass
class BatchResult:
    csv_path: Path
    total: int
    predicted: int
    errors: list[tuple[str, str]]  # (path, message) for files that could not be classified
    skipped: list[str]  # files left out because they are not images by extension
    seconds: float
    sorted_dir: Path | None = None
    label_counts: dict[str, int] = field(default_factory=dict)
    uncertain: int = 0  # predictions below their class's threshold

    @property
    def failed(self) -> int:
        return len(self.errors)

    @property
    def images_per_second(self) -> float:
        return self.predicted / self.seconds if self.seconds > 0 else 0.0


def describe_decode_error(exc: BaseException) -> str:
    """A CSV-friendly reason (the row already names the file) with what to do about it."""
    if isinstance(exc, TooManyPixelsError):
        width, height = exc.size
        return (f"{width}x{height} px is {width * height / 1e6:.1f} megapixels, over the "
                f"{exc.max_pixels / 1e6:g} MP limit; resize it, or raise the limit with {MAX_PIXELS_OPTION}")
    cause = exc.__cause__ if isinstance(exc, DatasetError) and exc.__cause__ is not None else exc
    if isinstance(cause, UnidentifiedImageError):
        return "not an image (or a format Pillow cannot read); convert it to JPEG or PNG, or remove it"
    if not isinstance(exc, DatasetError):
        return f"cannot be read ({type(exc).__name__}: {exc})"
    if cause is exc:
        return str(exc)
    return f"cannot be decoded ({type(cause).__name__}: {cause}); the file is probably truncated or corrupt"


def _decode(predictor: Predictor, item: InputItem) -> np.ndarray | str:
    try:
        source = item.read()
        empty = source == b"" if isinstance(source, bytes) else source.stat().st_size == 0
        if empty:
            return "empty file (0 bytes); re-copy or remove it"
        return predictor.prepare(source)
    # One odd file must never abort a batch of thousands: any decoder failure becomes a CSV row.
    except Exception as exc:  # noqa: BLE001
        return describe_decode_error(exc)


@contextmanager
def _decode_pool(shared: Executor | None, workers: int) -> Iterator[Executor]:
    if shared is not None:
        yield shared  # the caller's (a service's pool bounds decodes across all its requests)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="classmill-decode") as pool:
        yield pool


def _decoded_batches(
    predictor: Predictor, items: list[InputItem], batch_size: int, workers: int, shared_pool: Executor | None
) -> Iterator[list[tuple[InputItem, np.ndarray | str]]]:
    """Yield batches in input order while the pool already decodes the next batch."""
    with _decode_pool(shared_pool, workers) as pool:
        pending: deque[tuple[InputItem, Future]] = deque()
        upcoming = iter(items)

        def refill() -> None:
            while len(pending) < 2 * batch_size:
                item = next(upcoming, None)
                if item is None:
                    return
                pending.append((item, pool.submit(_decode, predictor, item)))

        refill()
        while pending:
            batch = [pending.popleft() for _ in range(min(batch_size, len(pending)))]
            refill()
            yield [(item, future.result()) for item, future in batch]


def classify_batches(
    predictor: Predictor, items: list[InputItem], top_k: int = 5, batch_size: int = 32, *,
    workers: int | None = None, pool: Executor | None = None,
) -> Iterator[list[tuple[InputItem, Prediction | str]]]:
    """Each batch of items with its Prediction, or the reason it could not be classified, in input order.

    Decoding runs a batch ahead (see _decoded_batches); a file that cannot be decoded is a reason
    (describe_decode_error), never an exception, so one odd file never stops a batch.
    """
    for batch in _decoded_batches(predictor, items, batch_size, workers or usable_cores(), pool):
        good = [arr for _, arr in batch if not isinstance(arr, str)]
        predictions = iter(predictor.to_predictions(predictor.predict_proba(np.stack(good)), top_k) if good else [])
        yield [(item, arr if isinstance(arr, str) else next(predictions)) for item, arr in batch]


def _format_row(name: str, prediction: Prediction | None, error: str = "") -> list[str]:
    if prediction is None:
        return [name, "", "", "", error, "", ""]
    topk = ";".join(f"{label}:{prob:.6f}" for label, prob in prediction.top_k)
    threshold = "" if prediction.threshold is None else f"{prediction.threshold:.6f}"
    return [name, prediction.label, f"{prediction.confidence:.6f}", topk, "",
            "true" if prediction.uncertain else "false", threshold]


_UNSAFE_FOLDER_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def label_folder_name(label: str) -> str:
    """`label` as a folder name on any file system (Windows' forbidden characters replaced)."""
    cleaned = _UNSAFE_FOLDER_CHARS.sub("_", label).strip(" .")
    return cleaned or "_"


def _copy_sorted(item: InputItem, label: str, sorted_dir: Path, taken: set[Path]) -> None:
    folder = sorted_dir / label_folder_name(label)
    base = PurePosixPath(item.name)
    target = folder / base.name
    n = 1
    while target in taken or target.exists():  # same file name from two sub-folders
        target = folder / f"{base.stem}_{n}{base.suffix}"
        n += 1
    taken.add(target)
    source = item.read()
    write_bytes(target, source.read_bytes() if isinstance(source, Path) else source)


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with atomic_open(path, "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return path


def predict_many(
    predictor: Predictor,
    input_path: str | Path,
    out_dir: str | Path,
    top_k: int = 5,
    batch_size: int = 32,
    sort_into_folders: bool = False,
    progress: ProgressCallback | None = None,
    *,
    workers: int | None = None,
    pool: Executor | None = None,
    **zip_limits: int,
) -> BatchResult:
    """Classify every image under input_path (image, folder or .zip) into out_dir/predictions.csv.

    Unreadable files become rows with an `error` and never stop the batch.
    sort_into_folders: also copy each classified image into out_dir/<label>/.
    pool: decode in this executor instead of a new one with `workers` threads (default: all cores).
    zip_limits: max_entries / max_total_bytes / max_entry_bytes for zip input.
    """
    if batch_size < 1:
        raise UserError(f"batch_size must be at least 1; got {batch_size}.")
    if top_k < 1:
        raise UserError(f"top_k must be at least 1; got {top_k}.")
    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sorted_dir = out_dir if sort_into_folders else None
    rows: list[list[str]] = []
    errors: list[tuple[str, str]] = []
    counts: dict[str, int] = {}
    uncertain = 0
    taken: set[Path] = set()
    with collect_inputs(Path(input_path), exclude=out_dir, **zip_limits) as inputs:
        total = len(inputs.items)
        done = 0
        if progress:
            progress(0, total)
        for batch in classify_batches(predictor, inputs.items, top_k, batch_size, workers=workers, pool=pool):
            for item, prediction in batch:
                if isinstance(prediction, str):
                    errors.append((item.name, prediction))
                    rows.append(_format_row(item.name, None, prediction))
                    continue
                rows.append(_format_row(item.name, prediction))
                counts[prediction.label] = counts.get(prediction.label, 0) + 1
                uncertain += prediction.uncertain
                if sorted_dir is not None:
                    _copy_sorted(item, prediction.label, sorted_dir, taken)
            done += len(batch)
            if progress:
                progress(done, total)
        skipped = inputs.skipped
    csv_path = _write_csv(out_dir / CSV_NAME, rows)
    return BatchResult(
        csv_path=csv_path,
        total=total,
        predicted=total - len(errors),
        errors=errors,
        skipped=skipped,
        seconds=time.perf_counter() - start,
        sorted_dir=sorted_dir,
        label_counts=counts,
        uncertain=uncertain,
    )


def predict_logits_files(
    predictor: Predictor,
    paths: list[Path],
    batch_size: int = 32,
    advance: Callable[[int], None] | None = None,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """(len(paths), classes) raw logits in path order, decoding ahead like predict_many.

    Unlike predict_many, a file that cannot be decoded stops the run (DatasetError naming it):
    an evaluation that silently skipped images would report on a different set.
    advance: called with the number of images after each batch (progress).
    """
    if batch_size < 1:
        raise UserError(f"batch_size must be at least 1; got {batch_size}.")
    items = [InputItem(name=str(p), read=lambda p=Path(p): p) for p in paths]
    outputs = [np.zeros((0, len(predictor.labels)), np.float32)]
    for batch in _decoded_batches(predictor, items, batch_size, workers or usable_cores(), None):
        failed = [(item.name, arr) for item, arr in batch if isinstance(arr, str)]
        if failed:
            raise DatasetError(f"{failed[0][0]}: {failed[0][1]}")
        outputs.append(predictor.predict_logits(np.stack([arr for _, arr in batch])))
        if advance is not None:
            advance(len(batch))
    return np.concatenate(outputs)


def predict_proba_files(
    predictor: Predictor,
    paths: list[Path],
    batch_size: int = 32,
    advance: Callable[[int], None] | None = None,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """(len(paths), classes) calibrated probabilities in path order (see predict_logits_files)."""
    return softmax(predict_logits_files(predictor, paths, batch_size, advance, workers=workers), predictor.temperature)
