"""Where batch inputs come from: one image, a folder (recursive) or a zip, read safely."""

from __future__ import annotations

import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from classmill.data.ignore import is_ignored
from classmill.data.readers.zip_safety import ArchiveError, ArchiveLimits, open_archive, scan_archive
from classmill.errors import UserError

__all__ = ["IMAGE_SUFFIXES", "ArchiveError", "ArchiveLimits", "InputItem", "InputSet", "collect_inputs", "is_image_name", "zip_inputs"]

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)


@dataclass(frozen=True)
class InputItem:
    """One file to classify: `name` is what the CSV shows, `read` returns path or bytes to decode."""

    name: str
    read: Callable[[], Path | bytes]


@dataclass(frozen=True)
class InputSet:
    """The images to classify; use as a context manager so an open zip gets closed."""

    items: list[InputItem]
    skipped: list[str]  # files that are not images by their extension
    close: Callable[[], None] = lambda: None

    def __enter__(self) -> "InputSet":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_image_name(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def collect_inputs(input_path: Path, *, exclude: Path | None = None, **zip_limits) -> InputSet:
    """Enumerate the images under `input_path` (image file, folder, or .zip), sorted by name.

    exclude: a folder inside input_path to leave out (the output folder, so reruns never
    classify their own sorted copies).
    """
    input_path = Path(input_path)
    if not input_path.exists():
        raise UserError(f"{input_path}: does not exist. Give an image, a folder of images or a .zip.")
    if input_path.is_dir():
        return _folder_inputs(input_path, exclude)
    if input_path.suffix.lower() == ".zip":
        return zip_inputs(input_path, **zip_limits)
    return InputSet([InputItem(input_path.name, lambda p=input_path: p)], [])


def _folder_inputs(root: Path, exclude: Path | None) -> InputSet:
    items, skipped = [], []
    exclude = exclude.resolve() if exclude is not None else None
    if exclude == root.resolve():  # output written into the input folder itself: keep everything
        exclude = None
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or is_ignored(rel.parts):
            continue
        if exclude is not None and path.resolve().is_relative_to(exclude):
            continue
        name = rel.as_posix()
        if is_image_name(name):
            items.append(InputItem(name, lambda p=path: p))
        else:
            skipped.append(name)
    return InputSet(items, skipped)


def zip_inputs(
    path: Path,
    *,
    limits: ArchiveLimits | None = None,
    max_entries: int | None = None,
    max_total_bytes: int | None = None,
    max_entry_bytes: int | None = None,
) -> InputSet:
    """Validate a zip up front (the whole archive is refused if any entry is unsafe) and list its images.

    limits: default ArchiveLimits(), the same limits as dataset zips; max_*: override one of them.
    """
    limits = (limits or ArchiveLimits()).with_overrides(
        max_entries=max_entries, max_total_bytes=max_total_bytes, max_entry_bytes=max_entry_bytes)
    zf = open_archive(path)
    try:
        return _validated_zip_inputs(path, zf, limits)
    except BaseException:
        zf.close()
        raise


def _validated_zip_inputs(path: Path, zf: zipfile.ZipFile, limits: ArchiveLimits) -> InputSet:
    listing = scan_archive(zf, path, limits)
    if listing.errors:
        first = listing.errors[0]
        more = f" ({len(listing.errors) - 1} more entries like it)" if len(listing.errors) > 1 else ""
        raise ArchiveError(f"{first.message}{more}; the archive was refused. {first.fix}")
    # ZipFile shares one file handle; concurrent decoders take turns reading.
    lock = threading.Lock()

    def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
        def read() -> bytes:
            with lock, zf.open(info) as fh:
                # zipfile stops at the declared size, so a lying header cannot inflate past it.
                return fh.read(limits.max_entry_bytes + 1)

        return read

    items, skipped = [], []
    for member in sorted(listing.members, key=lambda m: m.name):
        if is_ignored(member.parts):
            continue
        if is_image_name(member.name):
            items.append(InputItem(member.name, reader(member.info)))
        else:
            skipped.append(member.name)
    return InputSet(items, skipped, zf.close)
