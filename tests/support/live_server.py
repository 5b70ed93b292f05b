"""The real server (`python -m classmill server`) on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ADMIN = {"username": "admin", "password": "admin-password"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, workspace: Path, database_url: str, port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.workspace, self.database_url = workspace, database_url
        self.extra_env = env or {}  # more CLASSMILL_* settings, e.g. CLASSMILL_IMPORT_ROOTS
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = workspace.parent / f"server-{self.port}.log"

    def start(self, seconds: float = 60) -> "LiveServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLASSMILL_")}
        env.update(CLASSMILL_DATABASE_URL=self.database_url, CLASSMILL_ARGON2_TIME_COST="1",
                   CLASSMILL_ARGON2_MEMORY_KIB="64", PYTHONPATH=os.pathsep.join(sys.path), **self.extra_env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "classmill", "server", "--port", str(self.port), "--workspace", str(self.workspace)],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not answer within {seconds} s")

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()

    def admin_client(self) -> httpx.Client:
        """Set up the admin (first run) or log in, and return a client holding an API token."""
        with httpx.Client(base_url=self.url) as browser:
            answer = browser.post("/api/v1/setup", json=ADMIN)
            if answer.status_code != 201:
                answer = browser.post("/api/v1/auth/login", json=ADMIN)
            token = browser.post("/api/v1/tokens", json={"name": "e2e"},
                                 headers={"X-CSRF-Token": answer.json()["csrf_token"]}).json()["token"]
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def stream_file(client: httpx.Client, url: str, path: Path, chunk: int = 1 << 16) -> httpx.Response:
    """POST a file as the raw body, read and sent in chunks (never whole in memory)."""
    def chunks():
        with open(path, "rb") as fh:
            while data := fh.read(chunk):
                yield data
    return client.post(url, content=chunks(), headers={"Content-Type": "application/zip",
                                                       "Content-Length": str(path.stat().st_size)})
