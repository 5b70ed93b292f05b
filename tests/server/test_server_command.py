"""`classmill server`: migrate and create-admin through the CLI, and the real server over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from classmill.cli import app as cli_app
from classmill.server.app import create_app
from classmill.server.db.migrate import head_revision
from classmill.server.settings import Settings


def _server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLASSMILL_")}
    return {**env, **extra}


def test_migrate_then_create_admin_then_log_in(tmp_path, monkeypatch):
    for name in [k for k in os.environ if k.startswith("CLASSMILL_")]:
        monkeypatch.delenv(name)
    runner = CliRunner()
    migrated = runner.invoke(cli_app, ["server", "migrate", "--workspace", str(tmp_path)])
    assert migrated.exit_code == 0, migrated.output
    assert f"revision {head_revision()}" in migrated.output and (tmp_path / "classmill.db").is_file()

    created = runner.invoke(cli_app, ["server", "create-admin", "--workspace", str(tmp_path), "--username", "boss"],
                            input="boss-password\nboss-password\n")
    assert created.exit_code == 0, created.output
    assert "admin 'boss' created" in created.output

    with TestClient(create_app(Settings(workspace=tmp_path))) as client:
        assert client.get("/api/v1/setup").json() == {"needed": False}
        login = client.post("/api/v1/auth/login", json={"username": "boss", "password": "boss-password"})
        assert login.status_code == 200 and login.json()["user"]["role"] == "admin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"the server did not answer within {seconds} s")


def test_real_server_first_run_setup_and_login(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # CLASSMILL_PORT says otherwise: the --port flag must win over the environment.
    env = _server_env(CLASSMILL_PORT=str(_free_port()))
    process = subprocess.Popen(
        [sys.executable, "-m", "classmill", "server", "--port", str(port), "--workspace", str(tmp_path / "ws")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        _wait_until_up(url, process)
        assert httpx.get(f"{url}/api/v1/setup").json() == {"needed": True}
        admin = {"username": "admin", "password": "admin-password"}
        assert httpx.post(f"{url}/api/v1/setup", json=admin).status_code == 201
        with httpx.Client(base_url=url) as browser:
            login = browser.post("/api/v1/auth/login", json=admin)
            assert login.status_code == 200
            assert browser.get("/api/v1/me").json()["username"] == "admin"
            token = browser.post("/api/v1/tokens", json={"name": "live"},
                                 headers={"X-CSRF-Token": login.json()["csrf_token"]}).json()["token"]
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["role"] == "admin"
        assert (tmp_path / "ws" / "classmill.db").is_file()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"classmill server at {url}" in output, output
    assert "first run: create the admin with `classmill server create-admin`" in output, output
