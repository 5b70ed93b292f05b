"""Personal API tokens: shown once, hashed at rest, last use recorded, revocable, private to their owner."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from classmill.server.db.models import ApiToken
from classmill.server.db.session import make_engine
from support.server_accounts import ADMIN, assert_problem, set_up_admin


def _create(client, csrf: str, name: str = "laptop") -> dict:
    response = client.post("/api/v1/tokens", json={"name": name}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def test_token_is_shown_once_and_only_its_hash_is_stored(client, settings):
    created = _create(client, set_up_admin(client))
    secret = created["token"]
    assert secret.startswith("cm_") and len(secret) > 40 and secret.startswith(created["prefix"])

    listed = client.get("/api/v1/tokens").json()["items"]
    assert [t["name"] for t in listed] == ["laptop"] and "token" not in listed[0]

    engine = make_engine(settings.resolved_database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(ApiToken.__table__)).mappings().all()
    engine.dispose()
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in rows[0].values())


def test_a_token_authenticates_without_cookies_or_csrf_and_records_its_use(client, new_client):
    secret = _create(client, set_up_admin(client))["token"]
    script = new_client(headers={"Authorization": f"Bearer {secret}"})
    assert script.get("/api/v1/me").json()["username"] == ADMIN["username"]
    assert script.post("/api/v1/tokens", json={"name": "made-by-script"}).status_code == 201  # no CSRF for tokens
    used = {t["name"]: t["last_used_at"] for t in client.get("/api/v1/tokens").json()["items"]}
    assert used["laptop"] is not None and used["made-by-script"] is None


def test_a_revoked_token_is_refused(client, new_client):
    csrf = set_up_admin(client)
    created = _create(client, csrf)
    script = new_client(headers={"Authorization": f"Bearer {created['token']}"})
    assert script.get("/api/v1/me").status_code == 200
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert_problem(script.get("/api/v1/me"), 401, "invalid_token")
    assert client.get("/api/v1/tokens").json()["items"][0]["revoked_at"] is not None


def test_made_up_and_malformed_tokens_are_refused(client, new_client):
    set_up_admin(client)
    for header in ("Bearer cm_madeup", "Bearer ", "Basic YWRtaW46eA==", "cm_nobearer"):
        assert_problem(new_client(headers={"Authorization": header}).get("/api/v1/me"), 401, "invalid_token")


def test_another_users_token_cannot_be_revoked(client, new_client):
    csrf = set_up_admin(client)
    client.post("/api/v1/users", json={"username": "bob", "password": "bob-password"}, headers={"X-CSRF-Token": csrf})
    bob = new_client()
    bob_csrf = bob.post("/api/v1/auth/login", json={"username": "bob", "password": "bob-password"}).json()["csrf_token"]
    admin_token = _create(client, csrf)
    assert_problem(bob.delete(f"/api/v1/tokens/{admin_token['id']}", headers={"X-CSRF-Token": bob_csrf}), 404)
    assert bob.get("/api/v1/tokens").json()["items"] == []
    assert client.get("/api/v1/tokens").json()["items"][0]["revoked_at"] is None
