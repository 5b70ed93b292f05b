"""Set, replace or remove the thresholds.json of an existing bundle, keeping it verifiable.

The platform stores the threshold a user picks as a model version's default; this writes it into
the bundle (or a copy) without torch or the training code: the models are copied byte for byte,
and metadata.json gets the new file's checksum so read_bundle keeps verifying every part.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path
from typing import Mapping

from classmill.atomic import atomic_open
from classmill.infer.bundle import METADATA_FILE, THRESHOLDS_FILE, THRESHOLDS_SHA256, Bundle, BundleError, read_bundle
from classmill.infer.thresholds import check_thresholds, thresholds_json


def write_bundle_thresholds(
    bundle_path: str | Path, thresholds: Mapping[str, float] | None, out_path: str | Path | None = None
) -> Bundle:
    """Write `thresholds` ({class name: threshold in [0, 1]}) into the bundle, atomically; return it re-read.

    thresholds: None or {} removes the bundle's thresholds. out_path: write a copy there instead of
    replacing bundle_path. The source is verified first: a damaged bundle is refused, never re-signed.
    """
    source = read_bundle(bundle_path)
    checked = check_thresholds(thresholds or {}, source.labels, source="thresholds")
    target = Path(out_path) if out_path is not None else source.path
    if target.is_dir():
        raise BundleError(f"{target} is a folder; give the bundle's file name, e.g. {target / source.path.name}.")
    metadata = {k: v for k, v in source.metadata.items() if k != THRESHOLDS_SHA256}
    payload = thresholds_json(checked) if checked else None
    if payload is not None:
        metadata[THRESHOLDS_SHA256] = hashlib.sha256(payload).hexdigest()
    # Written beside the target and renamed over it: a reader sees the old bundle or the new one.
    # The source closes before the rename (Windows cannot replace a file that is still open).
    with atomic_open(target, "wb") as fh, zipfile.ZipFile(fh, "w") as zout, zipfile.ZipFile(source.path) as zin:
        for info in zin.infolist():
            if info.filename in (METADATA_FILE, THRESHOLDS_FILE):
                continue
            with zin.open(info) as src, zout.open(_same_entry(info), "w",
                                                  force_zip64=info.file_size > zipfile.ZIP64_LIMIT) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        zout.writestr(METADATA_FILE, json.dumps(metadata, indent=2, ensure_ascii=False) + "\n",
                      compress_type=zipfile.ZIP_DEFLATED)
        if payload is not None:
            zout.writestr(THRESHOLDS_FILE, payload, compress_type=zipfile.ZIP_DEFLATED)
    return read_bundle(target)


def _same_entry(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    # A fresh ZipInfo with the original's name, time and compression (stored weights stay stored).
    entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    entry.compress_type = info.compress_type
    entry.external_attr = info.external_attr
    return entry
