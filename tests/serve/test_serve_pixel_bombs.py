"""Hostile input through the real service: `classmill serve` in its own process, pixel bombs posted
concurrently. Each 12000x12000 flat PNG is ~0.15 MB on the wire and 144 MP once decoded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from support.images import huge_png

BOMB_SIDE = 12_000
REQUESTS = 4
FILES_PER_REQUEST = 3
RSS_GROWTH_LIMIT = 200 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


@pytest.fixture(scope="module")
def served(colour_bundle, tmp_path_factory):
    """(base URL, pid) of `python -m classmill serve` on a free loopback port."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "classmill", "serve", str(colour_bundle), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"classmill serve did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the service's memory from /proc")
def test_concurrent_pixel_bombs_are_refused_from_the_header(served, tmp_path):
    url, pid = served
    bomb = huge_png(tmp_path / "flat.png", side=BOMB_SIDE).read_bytes()
    peak_before = _memory_kib(pid, "VmHWM")
    answers: list[object] = [None] * REQUESTS
    start = threading.Barrier(REQUESTS)

    def post(i: int) -> None:
        files = [("files", (f"bomb{i}_{j}.png", bomb, "image/png")) for j in range(FILES_PER_REQUEST)]
        with httpx.Client(base_url=url, timeout=120) as client:
            start.wait()
            r = client.post("/predict", files=files)
            answers[i] = (r.status_code, r.json())

    began = time.perf_counter()
    threads = [threading.Thread(target=post, args=(i,)) for i in range(REQUESTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    seconds = time.perf_counter() - began
    growth = (_memory_kib(pid, "VmHWM") - peak_before) * 1024
    print(f"{REQUESTS}x{FILES_PER_REQUEST} bombs of {len(bomb) / 1e6:.2f} MB: peak RSS grew by "
          f"{growth / 2**20:.0f} MiB in {seconds:.1f} s")

    for i, answer in enumerate(answers):
        assert answer is not None, f"request {i} got no answer"
        status, body = answer
        assert 400 <= status < 500, (status, body)
        assert body["code"] == "too_many_pixels" and body["fix"], body
        assert body["filename"].startswith(f"bomb{i}_") and body["filename"] in body["detail"]
        assert f"{BOMB_SIDE}x{BOMB_SIDE}" in body["detail"]
    assert growth < RSS_GROWTH_LIMIT, f"the service's peak RSS grew by {growth / 2**20:.0f} MiB"
