"""Whether a process of this machine still runs: how the server tells a dead job or upload from a live one."""

from __future__ import annotations

import os


def process_alive(pid: int | None) -> bool:
    """True while process `pid` exists on this machine (signal 0 checks without sending anything)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it is just someone else's
        return True
    return True
