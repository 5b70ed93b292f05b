"""Whether a process of this machine still runs: how the server tells a dead job or upload from a live one."""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int | None) -> bool:
    """True while process `pid` exists on this machine and has not exited (signal 0 checks without sending).

    A zombie (exited, not yet reaped: a job process whose server died is re-parented to an init
    that may never reap it) counts as dead.
    """
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it is just someone else's
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux), or it has just gone
        return False
    # "pid (comm) state ...": comm may hold spaces and parentheses, the state follows the last ')'
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
