"""Stratified, deterministic and stable train/val/test split.

Each image's place in the order comes from a hash of its content and the seed, not from its
position in a folder listing, so renaming or reordering files changes nothing. Stability when
images are added: assignments already written to the output folder are kept and only the new
images are placed, each into the split furthest below its quota — so existing images never move
and every class stays within one image of the requested fractions.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from classmill import atomic
from classmill.data.dataset import Dataset
from classmill.data.manifest import portable_manifest
from classmill.data.readers.lists import PADDLE_LIST_FILES, labels_to_text
from classmill.data.records import WARNING, ImageRecord, Problem
from classmill.errors import ConfigError

MANIFEST_NAME = "manifest.json"
_TIE_ORDER = ("val", "test", "train")


@dataclass
class SplitResult:
    dataset: Dataset
    problems: list[Problem] = field(default_factory=list)
    kept: int = 0  # images whose split came from an earlier split of the same output folder
    out_dir: Path | None = None

    def counts(self) -> dict[str, dict[str, int]]:
        return {s: self.dataset.counts(s) for s in ("train", "val", "test")}


def _score(content_hash: str, seed: int) -> str:
    return hashlib.blake2b(f"{seed}:{content_hash}".encode(), digest_size=8).hexdigest()


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


def split_quotas(n: int, val: float, test: float) -> dict[str, int]:
    """How many of a class's n images each split should get."""
    quotas = {"val": _round(n * val), "test": _round(n * test)}
    requested = [s for s, frac in (("val", val), ("test", test)) if frac > 0]
    if n >= len(requested) + 1:
        for s in requested:
            quotas[s] = max(quotas[s], 1)
    while quotas["val"] + quotas["test"] >= n and n > 0 and quotas["val"] + quotas["test"] > 0:
        bigger = "val" if quotas["val"] >= quotas["test"] else "test"
        quotas[bigger] -= 1
    quotas["train"] = n - quotas["val"] - quotas["test"]
    return quotas


def assign_splits(dataset: Dataset, val: float, test: float, seed: int,
                  previous: dict[str, str] | None = None) -> SplitResult:
    """Return a copy of `dataset` with every record's split set. `previous`: content hash -> split."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(f"--val {val} and --test {test} must each be in [0, 1) and sum to less than 1.")
    previous = previous or {}
    by_class: dict[str, list[ImageRecord]] = defaultdict(list)
    for r in dataset.records:
        by_class[r.label].append(r)
    out_records: list[ImageRecord] = []
    problems: list[Problem] = []
    kept = 0
    for label in dataset.classes:
        records = sorted(by_class.get(label, []), key=lambda r: (_score(r.content_hash, seed), r.ref))
        quotas = split_quotas(len(records), val, test)
        counts = dict.fromkeys(quotas, 0)
        placed: dict[str, str] = {}  # content hash -> split, so identical files never straddle splits
        fresh = []
        for r in records:
            old = previous.get(r.content_hash)
            if old in quotas:
                placed[r.content_hash] = old
                counts[old] += 1
                kept += 1
            else:
                fresh.append(r)
        for r in fresh:
            split = placed.get(r.content_hash) or max(_TIE_ORDER, key=lambda s: (quotas[s] - counts[s], -_TIE_ORDER.index(s)))
            placed[r.content_hash] = split
            counts[split] += 1
        out_records.extend(ImageRecord(**{**r.__dict__, "split": placed[r.content_hash]}) for r in records)
        wanted = [s for s, frac in (("train", 1.0), ("val", val), ("test", test)) if frac > 0]
        empty = [s for s in wanted if counts[s] == 0]
        if empty:
            problems.append(Problem(
                "class_too_small_to_split", WARNING,
                f"class {label!r} has {len(records)} image(s): too few to give every split one; "
                f"its {', '.join(empty)} split(s) are empty",
                f"Add images of {label!r} so each of {', '.join(wanted)} gets at least one.", label=label))
    split_ds = Dataset(source=dataset.source, kind=dataset.kind, classes=list(dataset.classes),
                       records=sorted(out_records, key=lambda r: r.ref), ignored=dataset.ignored)
    return SplitResult(dataset=split_ds, problems=problems, kept=kept)


def read_previous_assignments(out_dir: Path) -> dict[str, str]:
    path = out_dir / MANIFEST_NAME
    if not path.is_file():
        return {}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return {r["content_hash"]: r["split"] for r in manifest.get("records", []) if r.get("split")}


def previous_assignments_for(out_dir: Path, val: float, test: float, seed: int, *, force: bool = False) -> dict[str, str]:
    """The assignments to keep when splitting into `out_dir` again with these settings.

    Kept assignments are only right for the settings that made them: with other fractions or
    another seed the folder would keep the old split while recording the new settings. So that is
    refused, unless `force` asks for a fresh split (then nothing is kept).
    """
    if force:
        return {}
    previous = read_previous_assignments(out_dir)
    if not previous:
        return {}
    manifest = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    recorded = manifest.get("split") or {}
    asked = {"val": val, "test": test, "seed": seed}
    if all(k in recorded for k in asked) and all(recorded[k] == v for k, v in asked.items()):
        return previous
    was = ", ".join(f"--{k} {recorded[k]}" for k in asked if k in recorded) or "unknown settings"
    raise ConfigError(
        f"{out_dir} already holds a split made with {was}; you asked for --val {val} --test {test} --seed {seed}. "
        f"Splitting again there keeps every image where it was, so the new settings would not apply. "
        f"Write to another --out folder, repeat the recorded settings to add new images, or pass --force "
        f"to re-split from scratch (images may change splits).")


def write_split(result: SplitResult, out_dir: Path, *, val: float, test: float, seed: int,
                source_given: str | None = None) -> None:
    """Write PaddleClas-compatible labels.txt and *_list.txt (paths relative to out_dir) + manifest.json.

    The manifest stores each image relative to the dataset root, so the folder can move (data.manifest).
    source_given: the dataset as the user named it, recorded next to its resolved form.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    ds = result.dataset
    index = ds.label_index()
    atomic.write_text(out_dir / "labels.txt", labels_to_text(ds.classes))
    for split, filename in PADDLE_LIST_FILES.items():
        lines = [f"{_relative(r.path, out_dir)} {index[r.label]}\n" for r in ds.in_split(split)]
        atomic.write_text(out_dir / filename, "".join(lines))
    manifest = portable_manifest(ds, given=source_given)
    manifest["split"] = {"val": val, "test": test, "seed": seed}
    atomic.write_json(out_dir / MANIFEST_NAME, manifest)
    result.out_dir = out_dir


def _relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base.resolve())
    except ValueError:  # different drive on Windows
        return str(path)
