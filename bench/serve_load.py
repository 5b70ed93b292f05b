"""Serving memory: `classmill serve` on the bundle, under concurrent load from this process.

The service runs as its own process (the real CLI entry point), so its peak resident memory is
read from the kernel when it exits. The load is bounded in count and time and goes to loopback
only: `concurrency` threads each POST one image per request to /predict until `requests` are done.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench.child import wait_with_usage
from bench.machine import wait_for_quiet_machine
from bench.plan import REPO_ROOT
from bench.stats import percentile

_STARTUP_TIMEOUT_S = 90
_REQUEST_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _multipart(path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path.name}\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    return head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


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


def measure_serving(bundle: Path, images: list[Path], *, requests: int, concurrency: int, log: Path,
                    quiet_wait_s: float = 0) -> dict:
    port = _free_port()
    with open(log, "w") as log_fh:
        proc = subprocess.Popen([sys.executable, "-m", "classmill", "serve", str(bundle), "--port", str(port)],
                                cwd=REPO_ROOT, stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True)
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
        idle_rss, torch_loaded = _vm_rss_mb(proc.pid), _torch_loaded(proc.pid)
        quiet = wait_for_quiet_machine(quiet_wait_s) if quiet_wait_s > 0 else None
        bodies = [_multipart(p) for p in images]
        latencies: list[float] = []
        failures: list[str] = []
        counter = iter(range(requests))
        lock = threading.Lock()

        def worker() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=_REQUEST_TIMEOUT_S)
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                body, content_type = bodies[i % len(bodies)]
                start = time.perf_counter()
                try:
                    conn.request("POST", "/predict", body=body, headers={"Content-Type": content_type})
                    response = conn.getresponse()
                    payload = response.read()
                    if response.status != 200:
                        failures.append(f"HTTP {response.status}: {payload[:200]!r}")
                except OSError as exc:
                    failures.append(repr(exc))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=_REQUEST_TIMEOUT_S)
                    continue
                with lock:
                    latencies.append((time.perf_counter() - start) * 1000)
            conn.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        loaded_rss = _vm_rss_mb(proc.pid)
        batching = json.loads(_get(port, "/health")[1]).get("batching")
    finally:
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: uvicorn's clean shutdown
            except ProcessLookupError:
                pass
            _, usage, _ = wait_with_usage(proc, timeout_s=30)  # SIGKILL if the clean shutdown hangs
    return {
        "command": "classmill serve BUNDLE",
        "requests": requests,
        "concurrency": concurrency,
        "failed_requests": len(failures),
        "failures_sample": failures[:3],
        "requests_per_s": round(len(latencies) / seconds, 1),
        "latency_ms_p50": round(percentile(latencies, 50), 1) if latencies else None,
        "latency_ms_p99": round(percentile(latencies, 99), 1) if latencies else None,
        "rss_mb_idle": idle_rss,
        "torch_loaded_in_service": torch_loaded,
        "quiet_wait": quiet,
        "rss_mb_after_load": loaded_rss,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "batching": batching,
    }
