"""Concurrent HTTP load from this process: `concurrency` threads, each on its own keep-alive connection,
POST one image per request until `requests` are done. Loopback only, bounded in count."""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from pathlib import Path

from bench.stats import percentile

REQUEST_TIMEOUT_S = 60


def multipart(path: Path) -> tuple[bytes, str]:
    """One image as the multipart field 'files' (body, Content-Type)."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path.name}\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    return head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post_images(port: int, path: str, images: list[Path], *, requests: int, concurrency: int,
                headers: dict[str, str] | None = None) -> dict:
    """Requests/s, latency p50/p99 and failures of `requests` POSTs of one image each to 127.0.0.1:port/path."""
    bodies = [multipart(p) for p in images]
    latencies: list[float] = []
    failures: list[str] = []
    counter = iter(range(requests))
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body, content_type = bodies[i % len(bodies)]
            start = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})})
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    with lock:
                        failures.append(f"HTTP {response.status}: {payload[:200]!r}")
                    continue
            except OSError as exc:
                with lock:
                    failures.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
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
    return {
        "requests": requests,
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "failed_requests": len(failures),
        "failures_sample": failures[:3],
        "requests_per_s": round(len(latencies) / seconds, 1),
        "latency_ms_p50": round(percentile(latencies, 50), 1) if latencies else None,
        "latency_ms_p99": round(percentile(latencies, 99), 1) if latencies else None,
    }
