"""The one rule for paths a dataset names: they stay inside the dataset root.

A list file, a CSV or a folder's symbolic link is untrusted input: `/etc/x.jpg`, `../../x.jpg` or a
link to another user's files would otherwise become a training image and end up embedded in
report.html. Every reader resolves the paths it is given through `confine`, and reports a refusal
with `outside_root_problem`, so the rule and its wording exist once.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from classmill.data.records import ERROR, Problem

RULE = "path_outside_root"


class PathOutsideRoot(ValueError):
    """`reason` completes the sentence "<path> ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_absolute_name(name: str) -> bool:
    """Absolute on any system a dataset may come from: `/x`, `\\x`, `C:x`, `C:\\x`, `\\\\server\\x`."""
    return name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or bool(PureWindowsPath(name).drive)


def confine(root: Path, rel: str | Path, base: Path | None = None) -> Path:
    """The real path of `base/rel` (base defaults to root), provided it lies inside `root`.

    root must already be resolved. Raises PathOutsideRoot for an absolute path, a `..` that leaves
    root, or a symbolic link (anywhere along the path) that resolves outside root.
    """
    text = str(rel)
    if not text.strip():
        raise PathOutsideRoot("is an empty path")
    if is_absolute_name(text):
        raise PathOutsideRoot("is an absolute path")
    lexical = Path(os.path.normpath((base or root) / text))
    if not lexical.is_relative_to(root):
        raise PathOutsideRoot("climbs out of the dataset folder with '..'")
    real = lexical.resolve()
    if not real.is_relative_to(root):
        raise PathOutsideRoot(f"is a symbolic link to {real}, outside the dataset folder")
    return real


def outside_root_problem(where: str, shown: str, reason: str, fix: str, label: str | None = None) -> Problem:
    """The ERROR every reader reports for a refused path; `where` is the file or `list.txt:LINE`."""
    prefix = f"{where}: {shown!r}" if where != shown else repr(shown)
    return Problem(RULE, ERROR, f"{prefix} {reason}; it is not used", fix, file=where, label=label)
