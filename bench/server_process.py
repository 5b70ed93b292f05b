"""The platform server as the benchmark runs it: `classmill server` in its own process, on a free loopback
port and a temp workspace, on SQLite or on a PostgreSQL schema made for the run and dropped after it.

Also the 20,000-image upload the import is measured on: tiny distinct noise JPEGs in class folders,
zipped without compression (JPEGs do not shrink), made in seconds.
"""

from __future__ import annotations

import io
import os
import secrets
import signal
import subprocess
import sys
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np
from PIL import Image

from bench.child import wait_with_usage
from bench.plan import REPO_ROOT
from bench.serve_load import _free_port

_STARTUP_TIMEOUT_S = 90
PG_URLS = ("postgresql+psycopg://postgres@127.0.0.1:5432/test", "postgresql+psycopg://root@127.0.0.1:5432/test")


def make_upload_zip(path: Path, images: int, classes: int, px: int, seed: int = 0) -> dict:
    """`images` distinct px×px noise JPEGs, spread evenly over `classes` folders, in one stored zip."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for i in range(images):
            pixels = rng.integers(0, 256, size=(px, px, 3), dtype=np.uint8)
            pixels[0, :3, 0] = [(i >> 16) & 255, (i >> 8) & 255, i & 255]  # unique even if the noise repeats
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
            archive.writestr(f"class_{i % classes:02d}/img_{i:05d}.jpg", buffer.getvalue())
    return {"images": images, "classes": classes, "px": px, "bytes": path.stat().st_size,
            "prepare_s": round(time.perf_counter() - started, 1)}


@contextmanager
def fresh_postgres_schema() -> Iterator[str | None]:
    """A URL on a new schema of the local PostgreSQL (dropped afterwards), or None when none is reachable.

    CLASSMILL_BENCH_POSTGRES_URL names the server; by default the test database of the machine.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    candidates = [os.environ["CLASSMILL_BENCH_POSTGRES_URL"]] if os.environ.get("CLASSMILL_BENCH_POSTGRES_URL") else PG_URLS
    for base in candidates:
        admin = create_engine(base)
        try:
            with admin.begin() as connection:
                schema = f"classmill_bench_{secrets.token_hex(6)}"
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception:  # noqa: BLE001 - try the next candidate, then report "not reachable"
            admin.dispose()
            continue
        try:
            yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
                hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        return
    yield None


@dataclass
class RunningServer:
    url: str
    pid: int
    log: Path
    peak_rss_mb: float | None = None  # from the kernel when it exited (ru_maxrss)

    def high_water_mb(self) -> float | None:
        """The server's peak resident memory so far (VmHWM), read while it runs."""
        return _proc_status_mb(self.pid, "VmHWM:")


def _proc_status_mb(pid: int, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


@contextmanager
def running_server(workspace: Path, database_url: str | None, log: Path) -> Iterator[RunningServer]:
    """`python -m classmill server` on a free port until the block ends (Ctrl-C, then SIGKILL if it hangs)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLASSMILL_")}
    if database_url:
        env["CLASSMILL_DATABASE_URL"] = database_url
    with open(log, "w") as log_fh:
        proc = subprocess.Popen([sys.executable, "-m", "classmill", "server", "--port", str(port),
                                 "--workspace", str(workspace)], cwd=REPO_ROOT, env=env, stdout=log_fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = RunningServer(f"http://127.0.0.1:{port}", proc.pid, log)
    try:
        _wait_for_health(proc, server)
        yield server
    finally:
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            _, usage, _ = wait_with_usage(proc, timeout_s=30)
            server.peak_rss_mb = round(usage.ru_maxrss / 1024, 1)


def _wait_for_health(proc: subprocess.Popen, server: RunningServer) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"`classmill server` exited with status {proc.returncode}; see {server.log}")
        try:
            if httpx.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"`classmill server` did not answer /api/v1/health within {_STARTUP_TIMEOUT_S} s; "
                               f"see {server.log}")
        time.sleep(0.2)
