"""Tamper with a bundle the way someone outside classmill would: entries changed, dropped or added."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable


def rewrite_bundle(src: Path, dest: Path, change: dict[str, Callable[[bytes | None], bytes | None]]) -> Path:
    """Copy a bundle zip with entries replaced (the function returns None: dropped) or added (called with None)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in change:
                data = change[info.filename](data)
                if data is None:
                    continue
            zout.writestr(info, data)
        for name, make in change.items():
            if name not in zin.namelist():
                zout.writestr(name, make(None))
    return dest
