"""The account page (API tokens) and the admin's users page, through the same services as the API."""

from __future__ import annotations

import re

from support.web_pages import error_of, flash_of, log_in_browser, set_up_in_browser


def _user_id(page, username: str) -> str:
    """The id in the users page's row of `username` (PostgreSQL ids do not restart per test)."""
    row = re.search(rf"<tr>\s*<td>{username}\b(.*?)</tr>", page.text, re.S).group(1)
    return re.search(r'action="/admin/users/(\d+)/(?:disable|enable)"', row).group(1)


def _token_ids(page) -> list[str]:
    return re.findall(r'action="/account/tokens/(\d+)/revoke"', page.text)


def test_a_token_is_shown_once_works_and_stops_working_when_revoked(client, new_client):
    csrf = set_up_in_browser(client)
    empty = client.get("/account")
    assert "No API tokens yet" in empty.text and _token_ids(empty) == []

    created = client.post("/account/tokens", data={"name": "nightly import", "csrf_token": csrf})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = re.search(r'id="new-token-value" class="token-value" type="text" value="(cm_[^"]+)"', created.text).group(1)
    assert "it is not shown again" in created.text
    script = new_client(headers={"Authorization": f"Bearer {secret}"})
    assert script.get("/api/v1/me").json()["username"] == "admin"

    listed = client.get("/account")
    assert secret not in listed.text and secret[:10] in listed.text and "nightly import" in listed.text
    [token_id] = _token_ids(listed)
    revoked = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert flash_of(revoked) == "Token “nightly import” was revoked. Programs that use it can no longer call the API."
    assert "Revoked" in revoked.text and _token_ids(revoked) == []
    assert script.get("/api/v1/me").status_code == 401


def test_token_form_errors_and_other_users_tokens(client, new_client):
    csrf = set_up_in_browser(client)
    blank = client.post("/account/tokens", data={"name": "   ", "csrf_token": csrf})
    assert blank.status_code == 400 and "a name of 1-100 characters" in error_of(blank)
    long = client.post("/account/tokens", data={"name": "x" * 101, "csrf_token": csrf})
    assert long.status_code == 422 and "at most 100 characters" in error_of(long)  # the API's own limit
    assert 'value="' + "x" * 101 + '"' in long.text  # what was typed stays in the field

    client.post("/admin/users", data={"username": "bob", "password": "bob-password", "csrf_token": csrf})
    bob = new_client()
    bob_csrf = log_in_browser(bob, "bob", "bob-password")
    bob.post("/account/tokens", data={"name": "bobs", "csrf_token": bob_csrf})
    [bobs_token] = _token_ids(bob.get("/account"))
    stolen = client.post(f"/account/tokens/{bobs_token}/revoke", data={"csrf_token": csrf})
    assert stolen.status_code == 404 and "You have no token with id" in error_of(stolen)
    assert "Not found" in stolen.text
    assert _token_ids(bob.get("/account")) == [bobs_token]
    # htmx requests send the token as a header instead of a field
    by_header = client.post("/account/tokens", data={"name": "htmx"}, headers={"X-CSRF-Token": csrf})
    assert by_header.status_code == 200 and "htmx" in by_header.text


def test_the_users_page_is_for_admins(client, new_client):
    csrf = set_up_in_browser(client)
    page = client.get("/admin/users")
    assert page.status_code == 200 and "1 user on this server." in page.text and 'href="/admin/users"' in page.text

    made = client.post("/admin/users", data={"username": "Bob", "password": "bob-password", "role": "member",
                                             "csrf_token": csrf})
    assert flash_of(made) == "User “bob” was created. Give them their password in person or another safe way."
    taken = client.post("/admin/users", data={"username": "bob", "password": "bob-password", "role": "admin",
                                              "csrf_token": csrf})
    assert taken.status_code == 409 and "The username 'bob' is taken." in error_of(taken)
    assert '<option value="admin" selected>' in taken.text  # the form keeps what was chosen
    bad_role = client.post("/admin/users", data={"username": "eve", "password": "eve-password", "role": "root",
                                                 "csrf_token": csrf})
    assert bad_role.status_code == 422 and "role" in error_of(bad_role)

    bob = new_client()
    bob_csrf = log_in_browser(bob, "bob", "bob-password")
    refused = bob.get("/admin/users")
    assert refused.status_code == 403 and "this page is for admins" in error_of(refused).lower()
    assert 'href="/admin/users"' not in bob.get("/datasets").text
    assert bob.post("/admin/users", data={"username": "eve", "password": "eve-password",
                                          "csrf_token": bob_csrf}).status_code == 403

    listed = client.get("/admin/users")
    admin_id = client.get("/api/v1/me").json()["id"]
    assert f"/admin/users/{admin_id}/disable" not in listed.text  # no button to lock yourself out
    last = client.post(f"/admin/users/{admin_id}/disable", data={"csrf_token": csrf})
    assert last.status_code == 409 and "'admin' is the last active admin." in error_of(last)
    bob_id = _user_id(listed, "bob")
    disabled = client.post(f"/admin/users/{bob_id}/disable", data={"csrf_token": csrf})
    assert flash_of(disabled).startswith("User “bob” was disabled")
    assert bob.get("/datasets", follow_redirects=False).headers["location"] == "/login"  # his login ended
    enabled = client.post(f"/admin/users/{bob_id}/enable", data={"csrf_token": csrf})
    assert flash_of(enabled) == "User “bob” can log in again."
    log_in_browser(bob, "bob", "bob-password")
    assert client.post("/admin/users/999999/disable", data={"csrf_token": csrf}).status_code == 404


def test_changing_my_password_needs_the_current_one_and_ends_my_logins(client, new_client):
    csrf = set_up_in_browser(client)
    other_login = new_client()
    log_in_browser(other_login, "admin", "admin-password")
    assert 'action="/account/password"' in client.get("/account").text

    wrong = client.post("/account/password", data={"current_password": "not-it", "new_password": "fresh-password",
                                                   "new_password_again": "fresh-password", "csrf_token": csrf})
    assert wrong.status_code == 401 and "The current password is wrong." in error_of(wrong)
    differ = client.post("/account/password", data={"current_password": "admin-password",
                                                    "new_password": "fresh-password",
                                                    "new_password_again": "fresh-passwort", "csrf_token": csrf})
    assert differ.status_code == 422 and "The two new passwords differ." in error_of(differ)
    short = client.post("/account/password", data={"current_password": "admin-password", "new_password": "short",
                                                   "new_password_again": "short", "csrf_token": csrf})
    assert short.status_code == 400 and "too short" in error_of(short)
    no_token = client.post("/account/password", data={"current_password": "admin-password",
                                                      "new_password": "fresh-password",
                                                      "new_password_again": "fresh-password"})
    assert no_token.status_code == 403
    assert new_client().post("/api/v1/auth/login",
                             json={"username": "admin", "password": "admin-password"}).status_code == 200

    changed = client.post("/account/password", data={"current_password": "admin-password",
                                                     "new_password": "fresh-password",
                                                     "new_password_again": "fresh-password", "csrf_token": csrf},
                          follow_redirects=False)
    assert changed.status_code == 303 and changed.headers["location"] == "/login"
    login_page = client.get("/login")
    assert flash_of(login_page) == ("Your password was changed and all your logins ended. "
                                    "Log in with the new password.")
    assert other_login.get("/account", follow_redirects=False).status_code == 303  # every login ended
    assert new_client().post("/api/v1/auth/login",
                             json={"username": "admin", "password": "admin-password"}).status_code == 401
    log_in_browser(new_client(), "admin", "fresh-password")


def test_a_wrong_current_password_reads_in_chinese_on_a_chinese_page(client):
    csrf = set_up_in_browser(client)
    client.cookies.set("classmill_lang", "zh_CN")
    wrong = client.post("/account/password", data={"current_password": "not-it", "new_password": "fresh-password",
                                                   "new_password_again": "fresh-password", "csrf_token": csrf})
    assert "密码" in error_of(wrong) and "The current password is wrong." in error_of(wrong)
