"""Who is looking at a page: the login cookie's user, or a redirect to the login (or first-run setup) page.

Pages use the API's login sessions and CSRF token (api/cookies.py). A page's form sends the token as
the hidden field `csrf_token`; htmx requests send it as the X-CSRF-Token header (base.html's
hx-headers). Forms that work before login (login, setup, language) are checked for a same-origin
Origin instead, so another site cannot post them (login CSRF).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request

from classmill.server.api.cookies import CSRF_HEADER, SESSION_COOKIE, csrf_matches, csrf_token
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.db.models import User
from classmill.server.errors import Forbidden
from classmill.server.services import sessions, users

CSRF_FIELD = "csrf_token"
HOME = "/datasets"


class PageRedirect(Exception):
    """Raised anywhere in a page route: the answer becomes a 303 to `location` (see routing.PageRoute)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


@dataclass(frozen=True)
class Visitor:
    user: User
    csrf: str  # this login's CSRF token, written into forms and htmx headers


def find_visitor(request: Request, state: StateDep, session: SessionDep) -> Visitor | None:
    key = request.cookies.get(SESSION_COOKIE)
    user = sessions.user_for_session(session, key) if key else None
    return Visitor(user, csrf_token(state.csrf_key, key)) if user else None


OptionalVisitor = Annotated[Visitor | None, Depends(find_visitor)]


def page_visitor(request: Request, visitor: OptionalVisitor, session: SessionDep) -> Visitor:
    """The logged-in visitor; otherwise off to first-run setup (no user yet) or the login page."""
    if visitor is not None:
        return visitor
    if not users.any_user_exists(session):
        raise PageRedirect("/setup")
    raise PageRedirect(login_url(request))


VisitorDep = Annotated[Visitor, Depends(page_visitor)]


async def posting_visitor(request: Request, visitor: VisitorDep, state: StateDep) -> Visitor:
    """The visitor of a form post, which must carry their CSRF token (field or header)."""
    sent = request.headers.get(CSRF_HEADER) or str((await request.form()).get(CSRF_FIELD, ""))
    if not csrf_matches(sent, state.csrf_key, request.cookies.get(SESSION_COOKIE, "")):
        raise Forbidden("the form did not carry this login's security token (it is old, or came from another site).",
                        "Reload the page and send the form again.", code="csrf_failed")
    return visitor


PostingVisitor = Annotated[Visitor, Depends(posting_visitor)]


def require_admin(visitor: Visitor) -> Visitor:
    if not visitor.user.is_admin:
        raise Forbidden("this page is for admins.", "Ask an admin to do it, or to make you admin.",
                        code="admin_only")
    return visitor


def admin_visitor(visitor: VisitorDep) -> Visitor:
    return require_admin(visitor)


def posting_admin(visitor: PostingVisitor) -> Visitor:
    return require_admin(visitor)


AdminVisitor = Annotated[Visitor, Depends(admin_visitor)]
PostingAdmin = Annotated[Visitor, Depends(posting_admin)]


def same_origin_post(request: Request) -> None:
    """Refuse a cross-site post of a form that needs no login (browsers send Origin with every POST)."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("the form was sent from another site.", "Open classmill's own page and send it from there.",
                        code="cross_site_form")


SameOrigin = Depends(same_origin_post)


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login" if here in ("/", HOME) else f"/login?{urlencode({'next': here})}"


def local_path(target: str | None, default: str = HOME) -> str:
    """`target` if it is a path on this server, else `default`: a 'next' parameter never leaves the site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target
