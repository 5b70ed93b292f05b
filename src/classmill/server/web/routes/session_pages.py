"""The pages around logging in: first-run setup, login, logout, the language switch, and / itself."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.cookies import SESSION_COOKIE, clear_login_cookies
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.login import check_credentials, log_in
from classmill.server.api.schemas import Credentials
from classmill.server.errors import Invalid
from classmill.server.services import sessions, users
from classmill.server.web.flash import flash
from classmill.server.web.forms import FormText, error_status, form_body, page_error
from classmill.server.web.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_DAYS, LOCALES
from classmill.server.web.rendering import render
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import HOME, OptionalVisitor, PageRedirect, PostingVisitor, SameOrigin, VisitorDep, local_path

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
def home(visitor: VisitorDep) -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get("/setup")
def setup_page(request: Request, visitor: OptionalVisitor, session: SessionDep) -> Response:
    if users.any_user_exists(session):
        raise PageRedirect(HOME if visitor else "/login")
    return render(request, "setup.html", visitor=None, error=None, username="")


@router.post("/setup", dependencies=[SameOrigin])
def setup(request: Request, state: StateDep, session: SessionDep, username: FormText = "", password: FormText = "",
          password_again: FormText = "") -> Response:
    try:
        body = form_body(Credentials, username=username, password=password)
        if password != password_again:
            raise Invalid("the two passwords differ.", "Type the same password in both fields.",
                          code="passwords_differ")
        user = users.create_first_admin(session, state.passwords, body.username, body.password)
    except UserError as exc:
        if getattr(exc, "code", "") == "already_set_up":
            raise PageRedirect("/login") from None
        return render(request, "setup.html", visitor=None, status=error_status(exc), error=page_error(exc),
                      username=username)
    return _logged_in(request, state, session, user, HOME)


@router.get("/login")
def login_page(request: Request, visitor: OptionalVisitor, session: SessionDep, next: str = "") -> Response:
    if visitor is not None:
        raise PageRedirect(local_path(next))
    if not users.any_user_exists(session):
        raise PageRedirect("/setup")
    return render(request, "login.html", visitor=None, error=None, username="", next=local_path(next))


@router.post("/login", dependencies=[SameOrigin])
def login(request: Request, state: StateDep, session: SessionDep, username: FormText = "", password: FormText = "",
          next: FormText = "") -> Response:
    address = request.client.host if request.client else "unknown"
    try:
        body = form_body(Credentials, username=username, password=password)
        user = check_credentials(session, state, body.username, body.password, address)
    except UserError as exc:
        return render(request, "login.html", visitor=None, status=error_status(exc), error=page_error(exc),
                      username=username, next=local_path(next))
    return _logged_in(request, state, session, user, local_path(next))


@router.post("/logout")
def logout(request: Request, visitor: PostingVisitor, session: SessionDep) -> Response:
    sessions.end_session(session, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    clear_login_cookies(response)
    flash(response, "logged_out")
    return response


@router.post("/language", dependencies=[SameOrigin])
def choose_language(lang: FormText = "", next: FormText = "") -> Response:
    if lang not in LOCALES:
        raise Invalid(f"{lang!r} is not a language of this server.", f"Choose one of: {', '.join(LOCALES)}.",
                      code="unknown_language")
    response = RedirectResponse(local_path(next, "/"), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=LANGUAGE_COOKIE_DAYS * 86400, httponly=True,
                        samesite="lax", path="/")
    return response


def _logged_in(request: Request, state, session, user, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    log_in(session, state, user, request, response)  # the API's login: session row, cookies, no-store
    return response

