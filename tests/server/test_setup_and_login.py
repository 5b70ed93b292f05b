"""First-run setup (once only), cookie login/logout with CSRF, wrong passwords and the rate limit."""

from __future__ import annotations

import json

from support.server_accounts import ADMIN, assert_problem, log_in, set_up_admin


def test_setup_creates_the_admin_once(client, new_client):
    assert client.get("/api/v1/setup").json() == {"needed": True}
    response = client.post("/api/v1/setup", json={"username": "Admin", "password": ADMIN["password"]})
    assert response.status_code == 201
    assert response.json()["user"]["username"] == "admin" and response.json()["user"]["role"] == "admin"
    assert client.get("/api/v1/me").json()["username"] == "admin"  # setup also logged in

    assert client.get("/api/v1/setup").json() == {"needed": False}
    stranger = new_client()
    assert_problem(stranger.post("/api/v1/setup", json={"username": "mallory", "password": "mallory-pass"}),
                   409, "already_set_up")
    assert_problem(stranger.post("/api/v1/auth/login", json={"username": "mallory", "password": "mallory-pass"}),
                   401, "invalid_credentials")


def test_setup_refuses_a_weak_password_and_stays_open(client):
    assert_problem(client.post("/api/v1/setup", json={"username": "admin", "password": "short"}), 400)
    assert client.get("/api/v1/setup").json() == {"needed": True}


def test_login_sets_hardened_cookies_and_logout_ends_the_session(client, new_client):
    set_up_admin(client)
    browser = new_client()
    response = browser.post("/api/v1/auth/login", json=ADMIN)
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("classmill_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Secure" not in session_cookie
    csrf = response.json()["csrf_token"]
    stolen = browser.cookies.get("classmill_session")
    assert browser.get("/api/v1/me").status_code == 200

    assert_problem(browser.post("/api/v1/auth/logout"), 403, "csrf_failed")  # unsafe method, no CSRF header
    assert_problem(browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "0" * 64}), 403, "csrf_failed")
    assert browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert_problem(browser.get("/api/v1/me"), 401)

    replay = new_client(cookies={"classmill_session": stolen})  # the cookie, copied before logout
    assert_problem(replay.get("/api/v1/me"), 401, "session_ended")


def test_cookies_are_secure_over_https(client, new_client):
    set_up_admin(client)
    secure = new_client(base_url="https://testserver")
    response = secure.post("/api/v1/auth/login", json=ADMIN)
    assert all("Secure" in c for c in response.headers.get_list("set-cookie"))


def test_csrf_token_of_one_session_does_not_work_for_another(client, new_client):
    admin_csrf = set_up_admin(client)
    other = new_client()
    log_in(other, ADMIN["username"], ADMIN["password"])
    assert_problem(other.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": admin_csrf}),
                   403, "csrf_failed")


def test_wrong_passwords_are_rate_limited_per_username_and_address(client, new_client, settings):
    set_up_admin(client)
    browser = new_client()
    wrong = {"username": "admin", "password": "not-the-password"}
    for _ in range(settings.login_attempts):
        assert_problem(browser.post("/api/v1/auth/login", json=wrong), 401, "invalid_credentials")
    # Now even the right password waits: the limit counts per username and address.
    blocked = browser.post("/api/v1/auth/login", json=ADMIN)
    assert_problem(blocked, 429, "too_many_attempts")
    assert 0 < int(blocked.headers["Retry-After"]) <= settings.login_window_s
    # Another username from the same address is not blocked by admin's failures.
    assert_problem(browser.post("/api/v1/auth/login", json={"username": "bob", "password": "whatever-x"}),
                   401, "invalid_credentials")


def test_unknown_user_and_wrong_password_get_the_same_answer(client):
    set_up_admin(client)
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "whatever-x"}).json()
    wrong = client.post("/api/v1/auth/login", json={"username": "admin", "password": "whatever-x"}).json()
    assert unknown == wrong


def test_login_accepts_only_json_so_a_cross_site_form_cannot_log_anyone_in(client, new_client):
    set_up_admin(client)
    victim = new_client()
    form = victim.post("/api/v1/auth/login", data=ADMIN)  # what an HTML form on another site would send
    assert_problem(form, 422, "invalid_request")
    assert "set-cookie" not in form.headers and victim.cookies.get("classmill_session") is None
    # A form with enctype=text/plain can carry a JSON-looking body; it must not be parsed as JSON.
    plain = victim.post("/api/v1/auth/login", content=json.dumps(ADMIN), headers={"Content-Type": "text/plain"})
    assert_problem(plain, 422, "invalid_request")
    assert victim.cookies.get("classmill_session") is None



def test_an_expired_login_is_refused(client, app, new_client):
    from datetime import timedelta

    from classmill.server.services import sessions, users
    from classmill.server.services.paging import PageRequest

    set_up_admin(client)
    state = app.state.classmill
    with state.sessions() as db:
        admin = users.list_users(db, PageRequest(limit=1, offset=0)).rows[0]
        live = sessions.start_session(db, admin, timedelta(minutes=1))
        # Started last: starting a login deletes the user's expired ones, and this row must stay.
        expired = sessions.start_session(db, admin, timedelta(seconds=-1))
    assert_problem(new_client(cookies={"classmill_session": expired.key}).get("/api/v1/me"), 401, "session_ended")
    assert new_client(cookies={"classmill_session": live.key}).get("/api/v1/me").status_code == 200
