"""process_alive: a live process is alive, an exited one is not — not even while it waits, unreaped, as a zombie."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from classmill.server.processes import process_alive


def test_a_zombie_counts_as_dead_and_a_running_process_as_alive():
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{exited.pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        assert process_alive(running.pid)
        assert not process_alive(exited.pid)  # exited, not yet reaped: still in the process table
    finally:
        running.kill()
        running.wait()
        exited.wait()
    assert not process_alive(exited.pid) and not process_alive(None)
