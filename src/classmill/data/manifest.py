"""The split manifest in a form that survives moving: images relative to the dataset root, with hashes.

A run folder (or a `data split --out` folder) must stay usable when it is moved to another
directory or machine, and when the zip extraction cache it was read from is gone. So the manifest
records where the dataset came from (as the user gave it and resolved), the root every image path
is relative to, and each image's content hash. Loading finds the root again, from a location the
user gives, from the recorded root, or by reading the recorded source through the normal reader
(which re-extracts a zip); `verify_images` then checks the hashes of exactly the images a step uses.

Manifests written before this format (absolute paths) still load.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePath, PurePosixPath
from typing import Iterable

from classmill.data.dataset import Dataset
from classmill.data.probe import content_hash
from classmill.data.records import ImageRecord
from classmill.errors import DatasetError

FORMAT = 2  # 1 (implicit): absolute paths; 2: paths relative to dataset.root + the dataset's source
_HASH_WORKERS = 4  # reading + hashing release the GIL


def dataset_root(pairs: Iterable[tuple[Path, str]]) -> Path | None:
    """The folder every (path, ref) pair's ref is relative to: a path minus its ref's parts.

    Readers give each image a `ref` relative to the dataset they read (the folder, the CSV's
    folder, the inside of the zip); the most common prefix is that root. None if no ref is relative.
    """
    counts: dict[Path, int] = {}
    for path, ref in pairs:
        parts = PurePath(ref).parts
        if not parts or PurePath(ref).is_absolute() or Path(path).parts[-len(parts):] != parts:
            continue
        root = Path(*Path(path).parts[:-len(parts)])
        counts[root] = counts.get(root, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None


def portable_manifest(dataset: Dataset, *, given: str | None = None) -> dict:
    """`dataset.to_manifest()` with every image under the dataset root stored relative to it.

    given: the source as the user wrote it (e.g. `images.zip`), kept for messages.
    """
    manifest = dataset.to_manifest()
    root = dataset_root((r.path, r.ref) for r in dataset.records)
    for entry, record in zip(manifest["records"], dataset.records):
        entry["path"] = _relative_or_absolute(Path(record.path), root)
    manifest["format"] = FORMAT
    manifest["dataset"] = {"given": given if given is not None else dataset.source, "source": dataset.source,
                           "root": str(root) if root is not None else None}
    return manifest


def _relative_or_absolute(path: Path, root: Path | None) -> str:
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return str(path)  # outside the root (an old CSV naming absolute paths): it cannot move with the data


def root_of_source(source: str | Path) -> Path:
    """Read a dataset source with the normal reader (a zip is extracted, or its cache reused) and
    return the folder its images' refs are relative to."""
    from classmill.data.policy import DatasetPolicy
    from classmill.data.readers import read_source

    read = read_source(source, DatasetPolicy())
    root = dataset_root((c.path, c.ref) for c in read.candidates)
    if root is not None:
        return root
    path = Path(source).expanduser().resolve()
    return path if path.is_dir() else path.parent


def load_manifest(manifest: dict, data_location: str | Path | None = None) -> Dataset:
    """The Dataset a manifest describes, its image paths resolved (not yet verified: see verify_images).

    data_location: where the dataset is now, if it moved (folder, zip, CSV or list folder).
    """
    recorded = manifest.get("dataset") or {}
    source = str(data_location) if data_location is not None else recorded.get("source", manifest["source"])
    root = _find_root(recorded, data_location)
    records = []
    for entry in manifest["records"]:
        stored = entry["path"]
        if PurePath(stored).is_absolute() or PurePosixPath(stored).is_absolute():
            # An old manifest (or an image outside the root): only a new location can re-anchor it.
            path = (root / entry["ref"]) if data_location is not None and not PurePath(entry["ref"]).is_absolute() \
                else Path(stored)
        else:
            base = root if root is not None else Path(recorded.get("root") or ".")
            path = base.joinpath(*PurePosixPath(stored).parts)
        records.append(ImageRecord.from_dict({**entry, "path": str(path)}))
    return Dataset(source=source, kind=manifest["kind"], classes=list(manifest["classes"]), records=records)


def _find_root(recorded: dict, data_location: str | Path | None) -> Path | None:
    if data_location is not None:
        if not Path(data_location).expanduser().exists():
            raise DatasetError(f"{data_location}: no such file or folder. Give the dataset's new location "
                               "(the folder, zip, CSV or list folder the run was trained on).")
        return root_of_source(data_location)
    root = recorded.get("root")
    if root and Path(root).is_dir():
        return Path(root)
    source = recorded.get("source")
    if source and Path(source).exists():
        return root_of_source(source)  # e.g. the zip is still there but its extraction cache is gone
    return None


def verify_images(records: list[ImageRecord], dataset_source: str) -> None:
    """Raise DatasetError unless every record's file exists with the content hash it had when recorded."""
    def problem(record: ImageRecord) -> str | None:
        try:
            data = Path(record.path).read_bytes()
        except OSError:
            return "missing"
        return None if not record.content_hash or content_hash(data) == record.content_hash else "changed"

    with ThreadPoolExecutor(max_workers=_HASH_WORKERS) as pool:
        found = [(r, p) for r, p in zip(records, pool.map(problem, records)) if p]
    if not found:
        return
    missing = [r for r, p in found if p == "missing"]
    first = found[0][0]
    if missing:
        first = missing[0]
        raise DatasetError(
            f"{len(missing)} of the {len(records)} images this step needs are missing, e.g. {first.ref} "
            f"(looked for {first.path}). The run's dataset was read from {dataset_source}. If it moved, pass "
            "--data with the dataset's new location (data_location=... in Python); for a zip, the zip itself.")
    raise DatasetError(
        f"{len(found)} of the {len(records)} images this step needs differ from the ones the run recorded, "
        f"e.g. {first.ref} ({first.path}): its content hash changed. Put the original images back, or pass "
        "--data with the location of an unchanged copy of the dataset.")
