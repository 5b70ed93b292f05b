"""The offline SDK as a user runs it: unpack the zip, run its README's install line in a fresh venv
(no system site packages, none of the tests' PYTHONPATH), start its one command, stop it."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from classmill.sdk.instructions import VENV, install_line_linux


@dataclass(frozen=True)
class InstalledSdk:
    folder: Path  # the unpacked SDK folder (README.md, run.sh, bundle/, .venv/)
    env: dict[str, str]
    install_seconds: float

    @property
    def python(self) -> Path:
        return self.folder / VENV / "bin" / "python"


def clean_env(tmp: Path) -> dict[str, str]:
    """The user's environment: none of this test's PYTHONPATH (it would import classmill from the source
    tree instead of the installed wheel), no user site, `python3` being the interpreter under test."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CLASSMILL_")) and k != "PIP_REQUIRE_VIRTUALENV"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(PYTHONNOUSERSITE="1", HOME=env.get("HOME", str(tmp)))
    return env


def run(command, cwd: Path, env: dict, timeout: float, shell: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, shell=shell)


def unzip(path: Path, dest: Path) -> None:
    # Like `unzip`: keep the modes the zip records (run.sh is executable).
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            zf.extract(info, dest)
            mode = stat.S_IMODE(info.external_attr >> 16)
            if mode:
                os.chmod(dest / info.filename, mode)


def install_sdk(sdk_zip: Path, folder_name: str, wheel: str, tmp: Path) -> InstalledSdk:
    """Unpack and install by the README's line; skips only when no package index answers at all."""
    unzip(sdk_zip, tmp / "unpacked")
    folder = tmp / "unpacked" / folder_name
    env = clean_env(tmp)
    readme_line = install_line_linux(wheel)
    assert readme_line in (folder / "README.md").read_text()
    start = time.monotonic()
    install = run(readme_line, folder, env, timeout=600, shell=True)
    seconds = time.monotonic() - start
    if install.returncode != 0:
        probe = run([str(folder / VENV / "bin" / "python"), "-m", "pip", "index", "versions", "numpy"], folder, env,
                    timeout=120)
        if probe.returncode != 0:
            pytest.skip(f"no package index reachable to install the runtime's dependencies: {probe.stderr[-500:]}")
        pytest.fail(f"the README's install line failed:\n{install.stdout[-3000:]}\n{install.stderr[-3000:]}")
    return InstalledSdk(folder, env, seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_sdk(sdk: InstalledSdk, seconds: float = 90) -> Iterator[str]:
    """`./run.sh --port N` until the block ends; yields its base URL once /health answers."""
    port = free_port()
    server = subprocess.Popen(["./run.sh", "--port", str(port)], cwd=sdk.folder, env=sdk.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + seconds
        while True:
            assert server.poll() is None, f"run.sh exited with {server.returncode}: {server.stdout.read()}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the SDK's service did not answer within {seconds} s"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
