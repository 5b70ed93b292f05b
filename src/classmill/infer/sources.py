"""Where batch inputs come from: one image, a folder (recursive) or a zip, read safely."""

from __future__ import annotations

import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from classmill.data.ignore import is_ignored
from classmill.data.readers.zip_archive import unsafe_reason
from classmill.errors import UserError

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
# Defaults sized for "a few thousand photos"; a zip claiming more is more likely a zip bomb.
MAX_ZIP_ENTRIES = 100_000
MAX_ZIP_TOTAL_BYTES = 8 * 1024**3
MAX_ZIP_ENTRY_BYTES = 256 * 1024**2


class ArchiveError(UserError):
    """A zip input is damaged or unsafe to unpack."""


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


def collect_inputs(input_path: Path, *, exclude: Path | None = None, **zip_limits: int) -> InputSet:
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


def check_member(info: zipfile.ZipInfo) -> None:
    """Refuse entries that could write or read outside the archive (same rules as dataset zips)."""
    reason = unsafe_reason(info.filename, info)
    if reason:
        raise ArchiveError(f"zip entry {info.filename!r} {reason}; rebuild the zip from the plain image files.")


def zip_inputs(
    path: Path,
    *,
    max_entries: int = MAX_ZIP_ENTRIES,
    max_total_bytes: int = MAX_ZIP_TOTAL_BYTES,
    max_entry_bytes: int = MAX_ZIP_ENTRY_BYTES,
) -> InputSet:
    """Validate a zip up front (whole archive is refused if any entry is unsafe) and list its images."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{path.name}: not a readable zip file ({exc}). Re-create the zip.") from exc
    try:
        return _validated_zip_inputs(path, zf, max_entries, max_total_bytes, max_entry_bytes)
    except BaseException:
        zf.close()
        raise


def _validated_zip_inputs(
    path: Path, zf: zipfile.ZipFile, max_entries: int, max_total_bytes: int, max_entry_bytes: int
) -> InputSet:
    infos = zf.infolist()
    if len(infos) > max_entries:
        raise ArchiveError(f"{path.name}: {len(infos)} entries; at most {max_entries} allowed. Split the zip.")
    total = 0
    for info in infos:
        check_member(info)
        total += info.file_size
        if info.file_size > max_entry_bytes:
            raise ArchiveError(
                f"zip entry {info.filename!r} unpacks to {info.file_size} bytes; "
                f"at most {max_entry_bytes} allowed per file. Shrink or remove it."
            )
    if total > max_total_bytes:
        raise ArchiveError(
            f"{path.name}: unpacks to {total} bytes; at most {max_total_bytes} allowed. Split the zip."
        )
    # ZipFile shares one file handle; concurrent decoders take turns reading.
    lock = threading.Lock()

    def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
        def read() -> bytes:
            with lock, zf.open(info) as fh:
                # zipfile stops at the declared size, so a lying header cannot inflate past it.
                return fh.read(max_entry_bytes + 1)

        return read

    items, skipped = [], []
    for info in sorted(infos, key=lambda i: i.filename):
        if info.is_dir() or is_ignored(tuple(PurePosixPath(info.filename).parts)):
            continue
        if is_image_name(info.filename):
            items.append(InputItem(info.filename, reader(info)))
        else:
            skipped.append(info.filename)
    return InputSet(items, skipped, zf.close)
