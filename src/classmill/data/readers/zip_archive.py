"""Zip reader: extracts safely, then reads the extracted tree with the other readers.

An archive is untrusted input. Every entry is judged by zip_safety.scan_archive (zip-slip, links,
duplicates, file/folder clashes, limits) before anything is written; the byte count is enforced
while extracting too, because the sizes a zip declares can lie. Extractions live in the private,
locked, size-bounded cache of extract_cache.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from classmill import atomic
from classmill.data.ignore import is_ignored
from classmill.data.readers import extract_cache
from classmill.data.readers.zip_safety import ArchiveError, ArchiveLimits, ArchiveMember, open_archive, scan_archive
from classmill.data.records import Problem
from classmill.progress import PhaseProgress, ProgressCallback

_CHUNK = 1 << 20


@dataclass
class ExtractedArchive:
    root: Path
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def extract_zip(zip_path: Path, dest: Path | None = None, *, limits: ArchiveLimits = ArchiveLimits(),
                progress: ProgressCallback | None = None) -> ExtractedArchive:
    """Extract `zip_path` into `dest` (default: the cache), or reuse an extraction a process completed.

    With the default cache, older extractions are evicted afterwards to keep it within its budget.
    """
    managed = dest is None
    dest = extract_cache.default_extract_dir(zip_path) if managed else dest
    extract_cache.use_or_extract(dest, lambda target: _extract(zip_path, target, limits, progress))
    if managed:
        extract_cache.evict_to_budget(dest.parent, extract_cache.cache_budget_bytes(), keep=dest)
    saved = json.loads((dest / extract_cache.COMPLETE_MARKER).read_text(encoding="utf-8"))
    return ExtractedArchive(root=dest, problems=[Problem(**p) for p in saved["problems"]], ignored=saved["ignored"])


def _extract(zip_path: Path, dest: Path, limits: ArchiveLimits, progress: ProgressCallback | None) -> None:
    """Unpack into a private partial folder, then swap it into place whole (called under the lock)."""
    with open_archive(zip_path) as archive:
        listing = scan_archive(archive, zip_path, limits)
        wanted, ignored = [], []
        for member in listing.members:
            (ignored if is_ignored(member.parts) else wanted).append(member)
        partial = dest.with_name(dest.name + f".partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True, mode=0o700)
        meter = PhaseProgress("extract", len(wanted), progress, unit="files")
        written = 0
        try:
            for member in wanted:
                budget = min(limits.max_entry_bytes, limits.max_total_bytes - written)
                written += _write_member(archive, zip_path, member, partial, budget)
                meter.advance()
            atomic.write_json(partial / extract_cache.COMPLETE_MARKER, {
                "problems": [p.to_dict() for p in listing.problems],
                "ignored": [m.name for m in ignored],
                "bytes": written,
            })
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(partial, dest)


def _write_member(archive: zipfile.ZipFile, zip_path: Path, member: ArchiveMember, folder: Path,
                  budget: int) -> int:
    target = folder.joinpath(*member.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with archive.open(member.info) as src, open(target, "xb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > budget:
                    raise ArchiveError(
                        f"{zip_path}: archive unpacks to more than it declares (a zip bomb); extraction stopped "
                        "and nothing was kept.")
                dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ArchiveError(
            f"{zip_path}: entry {member.name!r} is damaged ({exc}); nothing was extracted. "
            "Re-create the archive, or unpack it with another tool and give classmill the folder.") from exc
    return written


def archive_root(extracted_root: Path) -> Path:
    """Zips of a dataset usually wrap it in one top folder: look inside it."""
    entries = [p for p in extracted_root.iterdir() if not is_ignored((p.name,))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return extracted_root
