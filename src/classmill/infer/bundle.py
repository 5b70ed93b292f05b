"""The bundle format: one zip holding the ONNX model(s), labels, preprocessing and metadata.

Both sides of the format live here (the writer in classmill.export imports these names) so
the reader never depends on training code and the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from classmill.errors import UserError
from classmill.infer.calibration import parse_calibration, temperature_of
from classmill.infer.thresholds import Thresholds, parse_thresholds
from classmill.preprocess import PreprocessSpec

BUNDLE_SUFFIX = ".cmb"
MODEL_FILE = "model.onnx"
INT8_MODEL_FILE = "model.int8.onnx"
TORCHSCRIPT_FILE = "model.torchscript.pt"
LABELS_FILE = "labels.txt"
PREPROCESS_FILE = "preprocess.json"
METADATA_FILE = "metadata.json"
THRESHOLDS_FILE = "thresholds.json"  # optional: {class name: threshold}, see classmill.infer.thresholds
THRESHOLDS_SHA256 = "thresholds_sha256"  # its checksum in metadata.json, like the models'
CALIBRATION_FILE = "calibration.json"  # optional: the temperature, see classmill.infer.calibration
CALIBRATION_SHA256 = "calibration_sha256"
REQUIRED_FILES = (MODEL_FILE, LABELS_FILE, PREPROCESS_FILE, METADATA_FILE)
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


class BundleError(UserError):
    """A bundle file is missing, not a bundle, or lacks a part that was asked for."""


@dataclass(frozen=True)
class Bundle:
    """A bundle's parts, read into memory (models are bytes so no temp files are needed)."""

    path: Path
    labels: list[str]
    spec: PreprocessSpec
    metadata: dict
    files: tuple[str, ...]
    _models: dict[str, bytes] = field(repr=False, default_factory=dict)
    thresholds: Thresholds = field(default_factory=dict)  # the bundle's default; empty when it has none
    calibration: dict = field(default_factory=dict)  # calibration.json; empty for bundles without one

    @property
    def temperature(self) -> float:
        """What the logits are divided by before softmax (1.0: the bundle has no calibration)."""
        return temperature_of(self.calibration)

    def model_bytes(self, int8: bool = False) -> bytes:
        name = INT8_MODEL_FILE if int8 else MODEL_FILE
        if name not in self._models:
            raise BundleError(
                f"{self.path}: has no {name}. Re-export it with INT8 calibration images "
                "(export --int8) or load it without int8."
            )
        return self._models[name]


def read_bundle(path: str | Path) -> Bundle:
    """Open a bundle zip and read its labels, preprocessing spec, metadata and models."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"{path}: no such bundle file. Export one first (classmill export) or fix the path.")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BundleError(f"{path}: not a zip file, so not a bundle ({exc}). Point at the .cmb file written by "
                          "classmill export, or re-export it.") from exc
    try:
        with zf:
            names = tuple(zf.namelist())
            missing = [n for n in REQUIRED_FILES if n not in names]
            if missing:
                raise BundleError(
                    f"{path}: not a classmill bundle (missing {', '.join(missing)}). "
                    "Point at the .cmb file written by classmill export."
                )
            labels = zf.read(LABELS_FILE).decode("utf-8").splitlines()
            spec = PreprocessSpec.from_dict(json.loads(zf.read(PREPROCESS_FILE)))
            metadata = json.loads(zf.read(METADATA_FILE))
            if not isinstance(metadata, dict):
                raise ValueError(f"{METADATA_FILE} is not a JSON object")
            models = {n: zf.read(n) for n in (MODEL_FILE, INT8_MODEL_FILE) if n in names}
            thresholds_bytes = zf.read(THRESHOLDS_FILE) if THRESHOLDS_FILE in names else None
            calibration_bytes = zf.read(CALIBRATION_FILE) if CALIBRATION_FILE in names else None
    except (zipfile.BadZipFile, zlib.error, KeyError, ValueError, TypeError, EOFError) as exc:
        raise BundleError(f"{path}: bundle is damaged ({exc}). Re-export it.") from exc
    if not labels:
        raise BundleError(f"{path}: {LABELS_FILE} is empty. Re-export the bundle.")
    for name, data in models.items():
        _verify_checksum(path, name, data, metadata)
    thresholds = _read_thresholds(path, thresholds_bytes, metadata, labels)
    calibration = _read_calibration(path, calibration_bytes, metadata)
    return Bundle(path=path, labels=labels, spec=spec, metadata=metadata, files=names, _models=models,
                  thresholds=thresholds, calibration=calibration)


def _signed_entry(path: Path, name: str, data: bytes | None, metadata: dict, checksum_key: str, *,
                  missing_fix: str, changed_fix: str) -> bytes | None:
    """An optional entry whose checksum export (or write_bundle_thresholds) recorded in metadata.json:
    its bytes, None when the bundle has none, a BundleError when it was dropped, added or changed."""
    recorded = metadata.get(checksum_key)
    if data is None:
        if recorded:
            raise BundleError(f"{path}: {METADATA_FILE} records a {name} that the bundle lacks: the bundle "
                              f"is damaged. {missing_fix}")
        return None
    if recorded != hashlib.sha256(data).hexdigest():
        raise BundleError(f"{path}: {name} does not match the checksum in {METADATA_FILE}: {changed_fix}")
    return data


def _read_thresholds(path: Path, data: bytes | None, metadata: dict, labels: list[str]) -> Thresholds:
    # Thresholds decide which answers are trusted: a file changed or added outside classmill
    # (write_bundle_thresholds records its checksum) is refused like an altered model.
    data = _signed_entry(
        path, THRESHOLDS_FILE, data, metadata, THRESHOLDS_SHA256,
        missing_fix="Copy it again from the original or set its thresholds again.",
        changed_fix="it was added or changed outside classmill. Set thresholds with "
                    "classmill.infer.write_bundle_thresholds (or `classmill sdk --thresholds`), or copy the bundle "
                    "again from the original.")
    if data is None:
        return {}
    try:
        return parse_thresholds(data, labels, source=f"{path}: {THRESHOLDS_FILE}")
    except UserError as exc:
        raise BundleError(f"{exc} The bundle is damaged; set its thresholds again.") from exc


def _read_calibration(path: Path, data: bytes | None, metadata: dict) -> dict:
    # The temperature changes every probability the bundle returns, so it is checked like the
    # model: export records its checksum, and a file added or changed after export is refused.
    data = _signed_entry(
        path, CALIBRATION_FILE, data, metadata, CALIBRATION_SHA256,
        missing_fix="Re-export it (classmill export) or copy it again from the original.",
        changed_fix="it was added or changed after export. Re-export the bundle (classmill export) or copy it "
                    "again from the original.")
    if data is None:
        return {}
    try:
        return parse_calibration(data, source=f"{path}: {CALIBRATION_FILE}")
    except UserError as exc:
        raise BundleError(f"{exc} The bundle is damaged; re-export it.") from exc


def _recorded_sha256(name: str, metadata: dict) -> str | None:
    """The checksum export recorded for a model file (bundles without one are not checked)."""
    for entry in (metadata.get("formats") or {}).values():
        if isinstance(entry, dict) and entry.get("file") == name and entry.get("sha256"):
            return str(entry["sha256"])
    return metadata.get("model_sha256") if name == MODEL_FILE else None


def _verify_checksum(path: Path, name: str, data: bytes, metadata: dict) -> None:
    # A model that is not the exported one would answer with confident nonsense: refuse it instead.
    expected = _recorded_sha256(name, metadata)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise BundleError(
            f"{path}: {name} does not match the checksum in {METADATA_FILE}: the bundle is damaged or was "
            "altered after export. Re-export it (classmill export) or copy it again from the original."
        )
