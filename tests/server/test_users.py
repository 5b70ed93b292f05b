"""Roles and user administration: members stay out of admin routes; disabled users are locked out."""

from __future__ import annotations

from support.server_accounts import ADMIN, assert_problem, log_in, set_up_admin

MEMBER = {"username": "bob", "password": "bob-password"}


def _admin_with_member(client) -> tuple[str, int]:
    csrf = set_up_admin(client)
    response = client.post("/api/v1/users", json=MEMBER, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201 and response.json()["role"] == "member"
    return csrf, response.json()["id"]


def test_member_cannot_reach_admin_routes(client, new_client):
    _, member_id = _admin_with_member(client)
    bob = new_client()
    csrf = log_in(bob, **MEMBER)
    headers = {"X-CSRF-Token": csrf}
    assert bob.get("/api/v1/me").json()["role"] == "member"
    assert_problem(bob.get("/api/v1/users"), 403, "admin_only")
    assert_problem(bob.post("/api/v1/users", json={"username": "eve", "password": "eve-password", "role": "admin"},
                            headers=headers), 403, "admin_only")
    assert_problem(bob.post(f"/api/v1/users/{member_id}/enable", headers=headers), 403, "admin_only")
    assert_problem(bob.put(f"/api/v1/users/{member_id}/password", json={"password": "new-password"},
                           headers=headers), 403, "admin_only")


def test_usernames_are_unique_regardless_of_case(client):
    csrf, _ = _admin_with_member(client)
    taken = client.post("/api/v1/users", json={"username": "BOB", "password": "other-pass"}, headers={"X-CSRF-Token": csrf})
    assert_problem(taken, 409, "username_taken")
    assert_problem(client.post("/api/v1/users", json={"username": "../x", "password": "other-pass"},
                               headers={"X-CSRF-Token": csrf}), 400, "invalid_username")


def test_disabled_user_cannot_log_in_or_use_sessions_or_tokens(client, new_client):
    admin_csrf, member_id = _admin_with_member(client)
    bob = new_client()
    bob_csrf = log_in(bob, **MEMBER)
    token = bob.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": bob_csrf}).json()["token"]
    script = new_client(headers={"Authorization": f"Bearer {token}"})
    assert script.get("/api/v1/me").status_code == 200

    disabled = client.post(f"/api/v1/users/{member_id}/disable", headers={"X-CSRF-Token": admin_csrf})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert_problem(bob.get("/api/v1/me"), 401)
    assert_problem(script.get("/api/v1/me"), 401, "invalid_token")
    assert_problem(new_client().post("/api/v1/auth/login", json=MEMBER), 401, "invalid_credentials")

    client.post(f"/api/v1/users/{member_id}/enable", headers={"X-CSRF-Token": admin_csrf})
    assert script.get("/api/v1/me").status_code == 200  # tokens survive a disable/enable
    log_in(new_client(), **MEMBER)


def test_the_last_active_admin_cannot_be_disabled(client):
    csrf = set_up_admin(client)
    me = client.get("/api/v1/me").json()
    assert_problem(client.post(f"/api/v1/users/{me['id']}/disable", headers={"X-CSRF-Token": csrf}), 409, "last_admin")


def test_password_reset_ends_logins_and_replaces_the_password(client, new_client):
    admin_csrf, member_id = _admin_with_member(client)
    bob = new_client()
    log_in(bob, **MEMBER)
    reset = client.put(f"/api/v1/users/{member_id}/password", json={"password": "fresh-password"},
                       headers={"X-CSRF-Token": admin_csrf})
    assert reset.status_code == 200
    assert_problem(bob.get("/api/v1/me"), 401, "session_ended")
    assert_problem(new_client().post("/api/v1/auth/login", json=MEMBER), 401)
    log_in(new_client(), "bob", "fresh-password")


def test_admin_lists_users_and_unknown_ids_are_404(client):
    csrf, _ = _admin_with_member(client)
    assert [u["username"] for u in client.get("/api/v1/users").json()["items"]] == [ADMIN["username"], "bob"]
    assert_problem(client.post("/api/v1/users/9999/disable", headers={"X-CSRF-Token": csrf}), 404, "not_found")


def test_changing_my_password_needs_the_current_one(client):
    csrf = set_up_admin(client)
    wrong = client.post("/api/v1/me/password", json={"current_password": "nope-nope", "new_password": "another-pass"},
                        headers={"X-CSRF-Token": csrf})
    assert_problem(wrong, 401, "invalid_credentials")
    ok = client.post("/api/v1/me/password", json={"current_password": ADMIN["password"], "new_password": "another-pass"},
                     headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 204
    assert_problem(client.get("/api/v1/me"), 401)
    log_in(client, ADMIN["username"], "another-pass")


def test_user_list_is_paged_in_a_stable_order(client):
    csrf = set_up_admin(client)
    for i in range(4):
        client.post("/api/v1/users", json={"username": f"user{i}", "password": "user-password"},
                    headers={"X-CSRF-Token": csrf})
    first = client.get("/api/v1/users?limit=2").json()
    second = client.get("/api/v1/users?limit=2&offset=2").json()
    assert first["total"] == second["total"] == 5 and (first["limit"], second["offset"]) == (2, 2)
    names = [u["username"] for u in first["items"] + second["items"]]
    assert names == ["admin", "user0", "user1", "user2"]
    assert_problem(client.get("/api/v1/users?limit=201"), 422, "invalid_request")
