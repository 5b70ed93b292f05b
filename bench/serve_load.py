"""Serving memory: `classmill serve` on the bundle, under concurrent load from this process.

The service runs as its own process (the real CLI entry point), so its peak resident memory is
read from the kernel when it exits. The load is bounded in count and time and goes to loopback
only: `concurrency` threads each POST one image per request to /predict until `requests` are done.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench.child import wait_with_usage
from bench.http_load import post_images
from bench.machine import wait_for_quiet_machine
from bench.plan import REPO_ROOT

_STARTUP_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _vm_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _torch_loaded(pid: int) -> bool | None:
    """Whether the process has torch's library mapped: a bundle is meant to be served without it."""
    try:
        return "libtorch_cpu" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return None


@dataclass
class ServeProcess:
    port: int
    pid: int
    usage: resource.struct_rusage | None = None  # the kernel's accounting, once it has exited


@contextmanager
def serve_process(bundle: Path, log: Path) -> Iterator[ServeProcess]:
    """`classmill serve BUNDLE` on a free loopback port, answering /health, until the block ends (Ctrl-C,
    uvicorn's clean shutdown; SIGKILL if that hangs)."""
    port = _free_port()
    with open(log, "w") as log_fh:
        proc = subprocess.Popen([sys.executable, "-m", "classmill", "serve", str(bundle), "--port", str(port)],
                                cwd=REPO_ROOT, stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True)
    served = ServeProcess(port, proc.pid)
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"`classmill serve` exited with status {proc.returncode}; see {log}")
            try:
                if _get(port, "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"`classmill serve` did not answer /health within {_STARTUP_TIMEOUT_S} s; see {log}")
            time.sleep(0.2)
        yield served
    finally:
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: uvicorn's clean shutdown
            except ProcessLookupError:
                pass
            _, served.usage, _ = wait_with_usage(proc, timeout_s=30)  # SIGKILL if the clean shutdown hangs


def measure_serving(bundle: Path, images: list[Path], *, requests: int, concurrency: int, log: Path,
                    quiet_wait_s: float = 0) -> dict:
    with serve_process(bundle, log) as served:
        idle_rss, torch_loaded = _vm_rss_mb(served.pid), _torch_loaded(served.pid)
        quiet = wait_for_quiet_machine(quiet_wait_s) if quiet_wait_s > 0 else None
        load = post_images(served.port, "/predict", images, requests=requests, concurrency=concurrency)
        loaded_rss = _vm_rss_mb(served.pid)
        batching = json.loads(_get(served.port, "/health")[1]).get("batching")
    return {
        "command": "classmill serve BUNDLE",
        **{k: v for k, v in load.items() if k != "seconds"},
        "rss_mb_idle": idle_rss,
        "torch_loaded_in_service": torch_loaded,
        "quiet_wait": quiet,
        "rss_mb_after_load": loaded_rss,
        "peak_rss_mb": round(served.usage.ru_maxrss / 1024, 1),
        "batching": batching,
    }
