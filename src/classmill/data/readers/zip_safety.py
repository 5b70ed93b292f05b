"""Zip safety for every reader of an untrusted archive, with one set of limits.

Dataset extraction (data/readers/zip_archive.py) and batch prediction (infer/sources.py, used by
`classmill predict` and the service) both list an archive through `scan_archive`, so an entry is
judged the same way wherever the zip arrives: names decoded the same way, zip-slip entries, links
and encrypted entries refused, a file and a folder of the same name refused, duplicate names never
silently overwriting each other, and the same `ArchiveLimits` on entry count and unpacked size.
"""

from __future__ import annotations

import stat
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from classmill.data.readers.confine import is_absolute_name
from classmill.data.records import ERROR, WARNING, Problem
from classmill.errors import DatasetError

_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_REBUILD_FIX = "Re-create the archive from the folder itself so every entry is a plain relative path."


class ArchiveError(DatasetError):
    """A zip is damaged, unsafe to unpack, or over the archive limits."""


@dataclass(frozen=True)
class ArchiveLimits:
    """What one archive may hold; a zip over any limit is refused before anything is unpacked.

    Sized for a large image dataset; an archive claiming more is more likely a zip bomb.
    """

    max_entries: int = 200_000
    max_total_bytes: int = 20 * 1024**3  # all entries unpacked
    max_entry_bytes: int = 256 * 1024**2  # one entry unpacked (images are a few MB; a CSV less)

    def with_overrides(self, **overrides: int | None) -> "ArchiveLimits":
        """A copy with every non-None override applied (the CLI's and service's options)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class ArchiveMember:
    info: zipfile.ZipInfo
    name: str  # decoded, as the user sees it
    parts: tuple[str, ...]  # its path below the archive root


@dataclass
class ArchiveListing:
    """The archive's regular files that are safe to read, each name once, and what was left out."""

    members: list[ArchiveMember] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]


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


def entry_parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", "."))


def unsafe_reason(name: str, info: zipfile.ZipInfo) -> str | None:
    """Why an entry must not be unpacked or read (zip-slip, links, encryption), or None if it is safe."""
    if info.flag_bits & _ENCRYPTED_FLAG:
        return "is encrypted"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    if is_absolute_name(name):
        return "has an absolute path"
    # Stricter than confine(): no zip tool writes '..' for a file inside the archive.
    if ".." in entry_parts(name):
        return "points outside the archive with '..'"
    return None


def open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{path.name}: not a readable zip archive ({exc}). Re-create it with a standard zip tool.") from exc


def scan_archive(zf: zipfile.ZipFile, path: Path, limits: ArchiveLimits) -> ArchiveListing:
    """Check every entry against the rules and limits without unpacking anything.

    Raises ArchiveError for what makes the whole archive unusable (over a limit, a file and a folder
    with the same name); unsafe and conflicting entries become problems and are left out.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise ArchiveError(f"{path.name}: archive has {len(infos)} entries, more than the limit of "
                           f"{limits.max_entries}; it was not unpacked. Split it into smaller archives.")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_bytes:
        raise ArchiveError(f"{path.name}: archive unpacks to {_size(declared)}, more than the limit of "
                           f"{_size(limits.max_total_bytes)} (a zip bomb or a huge dataset); it was not "
                           "unpacked. Split it, or raise the archive size limit if the data is genuine.")
    listing = ArchiveListing()
    by_parts: dict[tuple[str, ...], list[ArchiveMember]] = defaultdict(list)
    folders: dict[tuple[str, ...], str] = {}  # every folder the archive implies -> an entry that implies it
    for info in infos:
        name = entry_name(info)
        reason = unsafe_reason(name, info)
        if reason:
            listing.problems.append(Problem("unsafe_archive_entry", ERROR,
                                            f"{path.name}: entry {name!r} {reason}", _REBUILD_FIX,
                                            file=name))
            continue
        parts = entry_parts(name)
        if not parts:
            continue
        depth = len(parts) if info.is_dir() else len(parts) - 1
        for i in range(1, depth + 1):
            folders.setdefault(parts[:i], name)
        if info.is_dir():
            continue
        if info.file_size > limits.max_entry_bytes:
            raise ArchiveError(f"{path.name}: entry {name!r} unpacks to {_size(info.file_size)}, more than the "
                               f"limit of {_size(limits.max_entry_bytes)} per file. Shrink or remove it.")
        by_parts[parts].append(ArchiveMember(info, name, parts))
    for parts, group in by_parts.items():
        if parts in folders:
            raise ArchiveError(
                f"{path.name}: entry {group[0].name!r} is a file, but entry {folders[parts]!r} needs a folder of "
                "the same name; the archive cannot be unpacked. Rename one of them and re-create the archive.")
    for parts, group in sorted(by_parts.items()):
        kept, problem = _one_of_duplicates(path, group)
        listing.members.extend(kept)
        if problem:
            listing.problems.append(problem)
    return listing


def _size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _one_of_duplicates(path: Path, group: list[ArchiveMember]) -> tuple[list[ArchiveMember], Problem | None]:
    """A name stored twice: keep one copy if all copies are byte-identical (a warning), else none.

    Tools disagree on which copy of a duplicated name is "the" file (first or last), so differing
    copies could show one image to the person who checked the zip and another to training: refuse
    them all rather than pick one silently.
    """
    if len(group) == 1:
        return group, None
    name = group[0].name
    if len({(m.info.CRC, m.info.file_size) for m in group}) == 1:
        return group[:1], Problem(
            "duplicate_archive_entry", WARNING,
            f"{path.name}: entry {name!r} is stored {len(group)} times with identical content; one copy is used",
            "Re-create the archive so every file is stored once.", file=name)
    return [], Problem(
        "conflicting_archive_entry", ERROR,
        f"{path.name}: entry {name!r} is stored {len(group)} times with different content; none is used, "
        "because which copy counts differs between tools",
        "Keep one version of the file and re-create the archive.", file=name)
