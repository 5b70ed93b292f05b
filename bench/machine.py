"""The machine the figures were measured on: they mean little without it.

Read from /proc and package metadata only, so describing the machine never imports torch.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

from bench.plan import REPO_ROOT
from classmill.cpu_features import read_cpuinfo

# The CPU features that decide which kernels torch and ONNX Runtime can use on this CPU:
# AVX-512 (fp32 convolutions), VNNI (INT8 dot products), BF16 and AMX (bf16/int8 matrix tiles).
FLAGS_THAT_MATTER = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
PACKAGES = ("classmill", "torch", "torchvision", "timm", "onnxruntime", "onnx", "pillow", "numpy")


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_revision() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{' (with uncommitted changes)' if dirty else ''}" if head else None


def load_average() -> list[float]:
    """Other people's work on a shared machine shows up here; quoted at the start and the end."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_busy_seconds() -> float | None:
    """CPU time all processes on the machine have spent busy since boot (/proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet_machine(max_wait_s: float, *, busy_cores_below: float = 0.5, window_s: float = 2.0) -> dict:
    """Before a timed measurement: wait (at most max_wait_s) until other processes leave the cores free.

    On 2 shared cores a neighbour's busy process slows torch's 2 OpenMP threads by far more than
    its share (a thread waiting at a barrier for one that is descheduled), so starting a
    measurement in a quiet moment matters; whether one came is recorded with the figure.
    """
    waited, busy = 0.0, None
    while True:
        before = cpu_busy_seconds()
        if before is None:
            return {"waited_s": 0.0, "busy_cores_at_start": None}
        time.sleep(window_s)
        busy = (cpu_busy_seconds() - before) / window_s
        waited += window_s
        if busy < busy_cores_below or waited >= max_wait_s:
            return {"waited_s": round(waited, 1), "busy_cores_at_start": round(busy, 2)}


def boot_id() -> str | None:
    """This boot of the machine (Linux): a shared or virtual machine's speed can change from one boot to
    the next while its CPU name stays the same."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def describe_machine() -> dict:
    model, flags = read_cpuinfo() or (platform.processor() or "unknown", set())
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": model,
        "cores": cores,
        "boot": boot_id(),
        "cpu_flags": {flag: flag in flags for flag in FLAGS_THAT_MATTER},
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in PACKAGES},
        "git_revision": git_revision(),
        "load_average_at_start": load_average(),
    }
