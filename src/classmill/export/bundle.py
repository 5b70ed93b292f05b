"""export_bundle: a trained model -> one self-contained bundle zip (.cmb) for infer and serve."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from classmill import __version__
from classmill.atomic import atomic_open
from classmill.checksum import file_sha256
from classmill.export.errors import ExportError
from classmill.export.formats import EXPORT_FORMATS
from classmill.export.job import DEFAULT_OPSET, ExportJob
from classmill.data.readers.lists import labels_to_text
from classmill.infer.bundle import CALIBRATION_FILE, CALIBRATION_SHA256, LABELS_FILE, METADATA_FILE, PREPROCESS_FILE
from classmill.infer.calibration import calibration_json, check_calibration
from classmill.preprocess import PreprocessSpec
from classmill.progress import ProgressCallback


@dataclass(frozen=True)
class BundleInfo:
    path: Path
    files: tuple[str, ...]
    metadata: dict
    size_bytes: int
    seconds: float


def _check_class_names(class_names: list[str]) -> None:
    if not class_names:
        raise ExportError("class_names is empty; pass the label of every output, in class-id order.")
    bad = [n for n in class_names if not n or "\n" in n or "\r" in n or n != n.strip()]
    if bad:
        raise ExportError(f"class names must be non-empty single lines without outer spaces; got {bad!r}.")
    if len(set(class_names)) != len(class_names):
        raise ExportError("class names must be unique; two outputs would share one label.")


def export_bundle(
    model: torch.nn.Module,
    spec: PreprocessSpec,
    class_names: list[str],
    out_path: str | Path,
    *,
    metadata: dict,
    int8_calibration_images: list[Path] | None = None,
    int8_eval: tuple[list[Path], list[int]] | None = None,
    torchscript: bool = False,
    opset: int = DEFAULT_OPSET,
    calibration: dict | None = None,
    progress: ProgressCallback | None = None,
) -> BundleInfo:
    """Write model.onnx (+ optional model.int8.onnx, model.torchscript.pt), labels, preprocessing
    and metadata into one zip at out_path, atomically. The ONNX graph is checked and compared
    with PyTorch on a random batch first; a disagreement raises and writes nothing.

    metadata: caller's facts (run id, dataset, metrics); classmill adds version, time, opset,
    input size and checksums. int8_eval: (images, class ids) to record FP32 vs INT8 accuracy.
    calibration: a calibration.json document (the run's temperature), written into the bundle with its
    checksum; every runtime then returns softmax(logits / temperature). The models output raw logits.
    progress: receives classmill.progress events (phases "calibration", "int8_check").
    """
    start = time.perf_counter()
    out_path = Path(out_path)
    _check_class_names(class_names)
    if out_path.is_dir():
        raise ExportError(f"{out_path} is a folder; give the bundle's file name, e.g. {out_path / 'model.cmb'}.")
    if int8_eval is not None and int8_calibration_images is None:
        raise ExportError("int8_eval measures the INT8 model, so it needs int8_calibration_images too.")
    if opset < 17:
        raise ExportError(f"opset {opset} is too old; use 17 or newer.")
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"metadata must be JSON-serialisable: {exc}") from exc
    calibration_bytes = calibration_json(check_calibration(calibration, source="calibration")) if calibration else None

    was_training = model.training
    model.eval()
    try:
        with tempfile.TemporaryDirectory(prefix="classmill-export-") as tmp:
            job = ExportJob(
                model=model,
                spec=spec,
                class_names=list(class_names),
                workdir=Path(tmp),
                opset=opset,
                int8_calibration_images=int8_calibration_images,
                int8_eval=int8_eval,
                torchscript=torchscript,
                progress=progress,
            )
            formats: dict[str, dict] = {}
            for fmt in EXPORT_FORMATS:
                if fmt.wanted(job):
                    dest = job.workdir / fmt.file
                    details = fmt.write(job, dest)
                    formats[fmt.name] = {"file": fmt.file, "sha256": file_sha256(dest), "bytes": dest.stat().st_size, **details}
            full_metadata = _bundle_metadata(metadata, job, formats)
            if calibration_bytes is not None:
                full_metadata[CALIBRATION_SHA256] = hashlib.sha256(calibration_bytes).hexdigest()
            files = _write_zip(out_path, job, formats, full_metadata, calibration_bytes)
    finally:
        model.train(was_training)
    return BundleInfo(out_path, files, full_metadata, out_path.stat().st_size, time.perf_counter() - start)


def _bundle_metadata(caller: dict, job: ExportJob, formats: dict[str, dict]) -> dict:
    # classmill's own keys win over the caller's: they describe the files actually written.
    return {
        **caller,
        "classmill_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "onnx_opset": job.opset,
        "input_size": job.spec.input_size,
        "num_classes": len(job.class_names),
        "model_sha256": formats["onnx"]["sha256"],
        "formats": formats,
    }


def _write_zip(out_path: Path, job: ExportJob, formats: dict[str, dict], metadata: dict,
               calibration: bytes | None) -> tuple[str, ...]:
    texts: dict[str, str | bytes] = {
        LABELS_FILE: labels_to_text(job.class_names),
        PREPROCESS_FILE: json.dumps(job.spec.to_dict(), indent=2) + "\n",
        METADATA_FILE: json.dumps(metadata, indent=2, ensure_ascii=False) + "\n",
    }
    if calibration is not None:
        texts[CALIBRATION_FILE] = calibration
    with atomic_open(out_path, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
        for name, text in texts.items():
            zf.writestr(name, text, compress_type=zipfile.ZIP_DEFLATED)
        for entry in formats.values():
            # Weights barely compress; storing them keeps loading a plain read.
            zf.write(job.workdir / entry["file"], entry["file"], compress_type=zipfile.ZIP_STORED)
    return tuple(texts) + tuple(entry["file"] for entry in formats.values())
