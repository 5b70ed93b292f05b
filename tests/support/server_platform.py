"""Fixtures for the dataset and import tests: an app with import roots and a small upload limit, two users."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from classmill.server.app import create_app
from support.server_accounts import set_up_admin

UPLOAD_LIMIT = 4_000_000


@dataclass
class Platform:
    admin: TestClient  # logged in by Bearer token: no CSRF needed
    member: TestClient
    workspace: Path
    import_root: Path
    app: object = None  # the FastAPI app, for a test that must reach its state (an in-process import)

    def new_dataset(self, client: TestClient | None = None, name: str = "parts") -> int:
        response = (client or self.admin).post("/api/v1/datasets", json={"name": name})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def stored_files(self) -> list[Path]:
        root = self.workspace / "store" / "images"
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []

    def staging_entries(self, settle_s: float = 5.0) -> list[Path]:
        """What is left in staging once the worker has tidied up (it does so just after a job ends)."""
        root = self.workspace / "staging"
        deadline = time.monotonic() + settle_s
        while True:
            found = sorted(root.iterdir()) if root.exists() else []
            if not found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


def _bearer(client: TestClient, csrf: str, app) -> TestClient:
    token = client.post("/api/v1/tokens", json={"name": "tests"}, headers={"X-CSRF-Token": csrf}).json()["token"]
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def platform(settings, tmp_path):
    root = tmp_path / "import-root"
    root.mkdir()
    app = create_app(settings.model_copy(update={"import_roots": [root], "max_upload_bytes": UPLOAD_LIMIT}))
    with TestClient(app) as browser:
        csrf = set_up_admin(browser)
        created = browser.post("/api/v1/users", json={"username": "bob", "password": "bob-password"},
                               headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text
        with TestClient(app) as bob_browser:
            bob_login = bob_browser.post("/api/v1/auth/login", json={"username": "bob", "password": "bob-password"})
            bob = _bearer(bob_browser, bob_login.json()["csrf_token"], app)
        admin = _bearer(browser, csrf, app)
        with admin, bob:
            yield Platform(admin, bob, settings.workspace, root, app)
