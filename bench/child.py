"""Run one measurement in a child process and collect its result, wall time and peak memory.

Each peer runs in a process of its own so that (a) ONNX Runtime is never slowed by a torch
loaded beside it, (b) one peer's caches, threads and allocator state never help or hurt the
next, and (c) its peak resident memory can be read from the kernel when it exits (wait4).
A child is `python -m bench.<module> SPEC.json RESULT.json`; `child_main` is its side of that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.machine import cpu_busy_seconds, wait_for_quiet_machine
from bench.plan import REPO_ROOT

_LOG_TAIL_CHARS = 3000


@dataclass
class ChildOutcome:
    ok: bool
    result: dict | None
    wall_s: float
    peak_rss_mb: float | None  # largest single process among the child and the children it reaped
    error: str = ""
    log: Path | None = None
    # Cores kept busy by everything else on this shared machine while the child ran (its own
    # CPU time subtracted): a figure measured next to a busy neighbour says so in the report.
    others_busy_cores: float | None = None
    quiet_wait: dict | None = None  # how long it waited for a quiet machine, and how busy it was then

    def failure(self) -> dict:
        return {"status": "failed", "reason": self.error, "log": str(self.log) if self.log else None}


def run_child(module: str, spec: dict, workdir: Path, name: str, *, python: str | None = None,
              timeout_s: float = 1800, env: dict | None = None, quiet_wait_s: float = 0) -> ChildOutcome:
    """Run bench.<module> with `spec`; its stdout/stderr go to workdir/<name>.log.

    quiet_wait_s: first wait up to this long for other processes to leave the cores free.
    """
    quiet = wait_for_quiet_machine(quiet_wait_s) if quiet_wait_s > 0 else None
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path, result_path, log_path = (workdir / f"{name}.spec.json", workdir / f"{name}.result.json",
                                        workdir / f"{name}.log")
    spec_path.write_text(json.dumps(spec, indent=2, default=str))
    result_path.unlink(missing_ok=True)
    started, busy_before = time.perf_counter(), cpu_busy_seconds()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([python or sys.executable, "-m", f"bench.{module}", str(spec_path), str(result_path)],
                                cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
        status, usage, timed_out = wait_with_usage(proc, timeout_s)
    wall = time.perf_counter() - started
    others = others_busy_cores(busy_before, usage.ru_utime + usage.ru_stime, wall)
    # ru_maxrss is in KiB on Linux.
    peak = round(usage.ru_maxrss / 1024, 1)
    result = json.loads(result_path.read_text()) if result_path.is_file() else None
    if timed_out:
        error = f"killed after the {timeout_s:.0f} s time limit"
        return ChildOutcome(False, result, wall, peak, error, log_path, others, quiet)
    if status != 0 or result is None:
        tail = log_path.read_text(errors="replace")[-_LOG_TAIL_CHARS:]
        return ChildOutcome(False, result, wall, peak, f"exit status {status}: ...{tail.strip()[-800:]}", log_path,
                            others, quiet)
    return ChildOutcome(True, result, wall, peak, "", log_path, others, quiet)


def others_busy_cores(busy_before: float | None, own_cpu_s: float, wall_s: float) -> float | None:
    busy_after = cpu_busy_seconds()
    if busy_before is None or busy_after is None or wall_s <= 0:
        return None
    return round(max(0.0, busy_after - busy_before - own_cpu_s) / wall_s, 2)


def wait_with_usage(proc: subprocess.Popen, timeout_s: float):
    """waitpid that also returns the child's rusage (Popen.wait throws it away)."""
    deadline = time.monotonic() + timeout_s
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline and not timed_out:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # the child's own session: its DataLoader workers too
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not try to reap it again
    return proc.returncode, usage, timed_out


def child_main(measure: Callable[[dict], dict]) -> None:
    """The child's side: read the spec, run `measure`, write its result atomically; exit 1 on error."""
    spec_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    spec = json.loads(spec_path.read_text())
    try:
        result = measure(spec)
    except Exception:
        traceback.print_exc()
        sys.exit(1)
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str))
    tmp.replace(result_path)
