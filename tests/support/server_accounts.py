"""Helpers for the platform server's API tests: first-run setup, login, the error shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

ADMIN = {"username": "admin", "password": "admin-password"}


def set_up_admin(client: TestClient) -> str:
    """Run first-run setup as ADMIN; returns the CSRF token of the login it starts."""
    response = client.post("/api/v1/setup", json=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["csrf_token"]


def log_in(client: TestClient, username: str, password: str) -> str:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """The response is the one error shape with this status (and code)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert {"detail", "code", "fix"} <= set(body), body
    assert body["detail"] and body["fix"]
    if code is not None:
        assert body["code"] == code, body
    return body
