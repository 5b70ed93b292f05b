"""Reading the web UI's pages in tests: the CSRF field, the flash message, the error box, form posts."""

from __future__ import annotations

import html
import re

from support.server_accounts import ADMIN

_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(page) -> str:
    found = _CSRF.search(page.text)
    assert found, "the page has no form with a CSRF field"
    return found.group(1)


def flash_of(page) -> str | None:
    found = re.search(r'<div class="flash" role="status">\s*<p class="flash-text">(.*?)</p>', page.text, re.S)
    return html.unescape(found.group(1)) if found else None


def error_of(page) -> str:
    """The error box's detail and fix, as the visitor reads them."""
    found = re.search(r'<div class="error-box" role="alert">(.*?)</div>', page.text, re.S)
    assert found, f"no error box on the page (status {page.status_code})"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def set_up_in_browser(client, username: str = ADMIN["username"], password: str = ADMIN["password"]) -> str:
    """First-run setup through the setup page; returns the CSRF token of the login it starts."""
    response = client.post("/setup", data={"username": username, "password": password, "password_again": password},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/datasets", response.text
    return csrf_of(client.get("/account"))


def log_in_browser(client, username: str, password: str) -> str:
    response = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/account"))
