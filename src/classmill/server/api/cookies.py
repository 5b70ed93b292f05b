"""The login cookies and the CSRF token that goes with them.

The session cookie is HttpOnly (page scripts cannot read it), SameSite=Lax (not sent on cross-site
POSTs) and Secure when the request came over https. Unsafe methods authenticated by cookie must
also carry X-CSRF-Token: HMAC(workspace key, session key), which a page can read from the
non-HttpOnly csrf cookie or from the page itself, but another site cannot. The web pages'
forms send the same token as a hidden field (see server/web/visitors.py).
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response

SESSION_COOKIE = "classmill_session"
CSRF_COOKIE = "classmill_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(csrf_key: bytes, session_key: str) -> str:
    return hmac.new(csrf_key, session_key.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_matches(sent: str, csrf_key: bytes, session_key: str) -> bool:
    """Whether `sent` is this login's CSRF token (compared in constant time)."""
    return hmac.compare_digest(sent.encode("utf-8"), csrf_token(csrf_key, session_key).encode("utf-8"))


def csrf_ok(request: Request, csrf_key: bytes, session_key: str) -> bool:
    return csrf_matches(request.headers.get(CSRF_HEADER, ""), csrf_key, session_key)


def set_login_cookies(response: Response, request: Request, session_key: str, csrf: str, max_age_s: int) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, session_key, max_age=max_age_s, httponly=True, samesite="lax",
                        secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age_s, httponly=False, samesite="lax", secure=secure, path="/")


def clear_login_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
