"""Files that operating systems and tools leave in folders: never images, never errors."""

from __future__ import annotations

_IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"}
_IGNORED_DIRS = {"__macosx", ".ipynb_checkpoints", ".git", ".svn", "@eadir", "$recycle.bin", "__pycache__"}


def is_ignored(parts: tuple[str, ...]) -> bool:
    """True for a path (given as its components below the dataset root) that should be skipped."""
    for i, part in enumerate(parts):
        lower = part.lower()
        is_last = i == len(parts) - 1
        if lower in _IGNORED_DIRS and not is_last:
            return True
        if part.startswith("."):  # dotfiles and dot-folders (._resource forks included)
            return True
        if is_last and lower in _IGNORED_NAMES:
            return True
    return False
