"""Zip reader: extracts safely, then reads the extracted tree with the other readers.

An archive is untrusted input. Entries with absolute paths, `..` or symlinks are skipped and
reported (zip-slip); archives whose entry count or uncompressed size exceeds the policy's limits
are refused before anything is written, and the byte count is enforced while extracting too,
because the sizes a zip declares can lie.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from classmill.data.ignore import is_ignored
from classmill.data.records import ERROR, Problem
from classmill.errors import DatasetError

_COMPLETE_MARKER = ".classmill-extracted"
_CHUNK = 1 << 20
_UTF8_FLAG = 0x800


@dataclass
class ExtractedArchive:
    root: Path
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def default_extract_dir(zip_path: Path) -> Path:
    """A per-archive cache folder, reused while the zip is unchanged."""
    st = zip_path.stat()
    key = hashlib.blake2b(f"{zip_path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode(), digest_size=8).hexdigest()
    return Path(tempfile.gettempdir()) / "classmill-extract" / f"{zip_path.stem}-{key}"


def entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's real name: zips made on Chinese Windows store GBK names without the UTF-8 flag."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def unsafe_reason(name: str, info: zipfile.ZipInfo) -> str | None:
    """Why an entry must not be unpacked (zip-slip, links, encryption), or None if it is safe."""
    if info.flag_bits & 0x1:
        return "is encrypted"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "points outside the archive with '..'"
    return None


def extract_zip(zip_path: Path, dest: Path, *, max_bytes: int, max_entries: int) -> ExtractedArchive:
    """Extract `zip_path` into `dest` (reused if a previous extraction completed)."""
    if (dest / _COMPLETE_MARKER).exists():
        return _load_marker(dest)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetError(f"{zip_path}: not a readable zip archive ({exc}). Re-create it with a standard zip tool.") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise DatasetError(
                f"{zip_path}: archive has {len(infos)} entries, more than the limit of {max_entries}; "
                "it was not extracted. Split it into smaller archives or raise the entry limit.")
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise DatasetError(
                f"{zip_path}: archive would unpack to {declared / 1e9:.1f} GB, more than the limit of "
                f"{max_bytes / 1e9:.1f} GB (a zip bomb or a huge dataset); it was not extracted. "
                "Raise the archive size limit if the data is genuine.")
        partial = dest.with_name(dest.name + f".partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        extracted = ExtractedArchive(root=dest)
        written = 0
        try:
            for info in infos:
                name = entry_name(info)
                reason = unsafe_reason(name, info)
                if reason:
                    extracted.problems.append(Problem(
                        "unsafe_archive_entry", ERROR,
                        f"{zip_path.name}: entry {name!r} {reason}; it was not extracted",
                        "Re-create the archive from the dataset folder itself so every entry is a plain relative path.",
                        file=name))
                    continue
                parts = PurePosixPath(name.replace("\\", "/")).parts
                if info.is_dir() or not parts:
                    continue
                if is_ignored(parts):
                    extracted.ignored.append(name)
                    continue
                target = partial.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with archive.open(info) as src, open(target, "wb") as dst:
                        while chunk := src.read(_CHUNK):
                            written += len(chunk)
                            if written > max_bytes:
                                raise DatasetError(
                                    f"{zip_path}: archive unpacks to more than {max_bytes / 1e9:.1f} GB although "
                                    "it declares less (a zip bomb); extraction stopped and nothing was kept.")
                            dst.write(chunk)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise DatasetError(
                        f"{zip_path}: entry {name!r} is damaged ({exc}); nothing was extracted. "
                        "Re-create the archive, or unpack it with another tool and give classmill the folder.") from exc
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    _write_marker(partial, extracted)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(partial, dest)
    return extracted


def _write_marker(folder: Path, extracted: ExtractedArchive) -> None:
    import json

    (folder / _COMPLETE_MARKER).write_text(json.dumps({
        "problems": [p.to_dict() for p in extracted.problems],
        "ignored": extracted.ignored,
    }), encoding="utf-8")


def _load_marker(folder: Path) -> ExtractedArchive:
    import json

    saved = json.loads((folder / _COMPLETE_MARKER).read_text(encoding="utf-8"))
    return ExtractedArchive(root=folder, problems=[Problem(**p) for p in saved["problems"]], ignored=saved["ignored"])


def archive_root(extracted_root: Path) -> Path:
    """Zips of a dataset usually wrap it in one top folder: look inside it."""
    entries = [p for p in extracted_root.iterdir() if not is_ignored((p.name,))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return extracted_root
