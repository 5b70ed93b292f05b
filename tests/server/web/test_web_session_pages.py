"""Setup, login, logout and the language switch as pages: redirects, errors in the page, cookies, CSRF."""

from __future__ import annotations

from support.server_accounts import ADMIN
from support.web_pages import error_of, flash_of, log_in_browser, set_up_in_browser


def test_a_new_server_sends_every_page_to_setup_and_setup_logs_in(client, new_client):
    for path in ("/", "/datasets", "/login", "/admin/users"):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/setup"), path
    differ = client.post("/setup", data={"username": "admin", "password": "admin-password",
                                         "password_again": "admin-passw0rd"})
    assert differ.status_code == 422 and "two passwords differ" in error_of(differ)
    assert 'value="admin"' in differ.text  # what was typed stays (but never a password)
    assert "admin-password" not in differ.text
    short = client.post("/setup", data={"username": "admin", "password": "short", "password_again": "short"})
    assert short.status_code == 400 and "too short" in error_of(short)

    set_up_in_browser(client)
    assert client.get("/setup", follow_redirects=False).headers["location"] == "/datasets"
    assert client.get("/api/v1/me").json()["role"] == "admin"  # the API knows the page's login
    stranger = new_client()
    assert stranger.get("/setup", follow_redirects=False).headers["location"] == "/login"
    again = stranger.post("/setup", data={"username": "mallory", "password": "mallory-pw", "password_again": "mallory-pw"},
                          follow_redirects=False)
    assert again.headers["location"] == "/login"
    assert stranger.get("/api/v1/setup").json() == {"needed": False}


def test_login_shows_the_services_words_and_returns_only_to_local_pages(client, new_client):
    set_up_in_browser(client)
    browser = new_client()
    assert browser.get("/projects", follow_redirects=False).headers["location"] == "/login?next=%2Fprojects"
    wrong = browser.post("/login", data={"username": "admin", "password": "not-the-password"})
    assert wrong.status_code == 401
    assert "Wrong username or password" in error_of(wrong) and "an admin can reset the password" in error_of(wrong)
    for target, expected in (("/projects", "/projects"), ("//evil.example/x", "/datasets"),
                             ("https://evil.example/", "/datasets"), ("/\\evil.example", "/datasets")):
        fresh = new_client()
        answer = fresh.post("/login", data={**ADMIN, "next": target}, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, expected), target
        assert "no-store" in answer.headers["cache-control"]
    assert browser.get("/login?next=%2Fprojects", follow_redirects=False).status_code == 200
    log_in_browser(browser, **ADMIN)
    assert browser.get("/login", follow_redirects=False).headers["location"] == "/datasets"


def test_failed_logins_are_paused_like_the_apis(client, new_client, settings):
    set_up_in_browser(client)
    browser = new_client()
    for _ in range(settings.login_attempts):
        assert browser.post("/login", data={"username": "admin", "password": "guess-guess"}).status_code == 401
    paused = browser.post("/login", data=ADMIN)  # the right password, but after too many failures
    assert paused.status_code == 429 and "Too many failed logins" in error_of(paused)
    # one limiter for pages and API: the API is paused for this username and address too
    assert browser.post("/api/v1/auth/login", json=ADMIN).status_code == 429


def test_forms_that_need_no_login_refuse_other_sites(client):
    set_up_in_browser(client)
    evil = {"origin": "https://evil.example"}
    assert client.post("/login", data=ADMIN, headers=evil).status_code == 403
    assert client.post("/language", data={"lang": "zh_CN"}, headers=evil).status_code == 403
    ours = client.post("/language", data={"lang": "zh_CN", "next": "/account"},
                       headers={"origin": "http://testserver"}, follow_redirects=False)
    assert (ours.status_code, ours.headers["location"]) == (303, "/account")


def test_logout_needs_the_token_and_ends_the_login(client):
    csrf = set_up_in_browser(client)
    refused = client.post("/logout")
    assert refused.status_code == 403 and "security token" in error_of(refused)
    assert client.get("/api/v1/me").status_code == 200
    page = client.post("/logout", data={"csrf_token": csrf})
    assert page.url.path == "/login" and flash_of(page) == "You have logged out."
    assert client.get("/api/v1/me").status_code == 401
    assert flash_of(client.get("/login")) is None  # shown once


def test_language_from_browser_then_from_the_switch(client, new_client):
    set_up_in_browser(client)
    chinese = new_client(headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    page = chinese.get("/login")
    assert '<html lang="zh-CN">' in page.text and "登录 classmill" in page.text
    for header, lang in (("en-GB,en;q=0.9", "en"), ("fr-FR, zh-TW;q=0.5", "zh-CN"), ("zh;q=0, en;q=0.1", "en"),
                         ("de", "en"), ("garbage;;q=x,,", "en")):
        assert f'<html lang="{lang}">' in new_client(headers={"Accept-Language": header}).get("/login").text, header
    switched = chinese.post("/language", data={"lang": "en", "next": "/login"})
    assert '<html lang="en">' in switched.text and "Log in to classmill" in switched.text
    assert '<html lang="en">' in chinese.get("/login").text  # remembered over the browser's preference
    unknown = chinese.post("/language", data={"lang": "xx", "next": "/login"})
    assert unknown.status_code == 422 and "'xx' is not a language" in error_of(unknown)


def test_pages_and_static_files_carry_their_headers(client):
    page = client.get("/setup")
    assert page.headers["cache-control"] == "no-store"
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "style-src 'self';" in policy
    assert "http://" not in page.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page.text
    for url in ("/static/app.css", "/static/vendor/htmx-2.0.11.min.js", "/static/vendor/uPlot-1.6.32.min.css"):
        assert f'"{url}?v=' in page.text or url.endswith("uPlot-1.6.32.min.css")
        asset = client.get(url)
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"], url
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/vendor/htmx-2.0.11.LICENSE.txt").status_code == 200
