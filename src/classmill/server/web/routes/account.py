"""The account page: who you are, your password, and your API tokens (create — shown once — list, revoke)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.cookies import clear_login_cookies
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.api.schemas import PasswordChange, TokenRequest
from classmill.server.errors import Invalid
from classmill.server.services import tokens, users
from classmill.server.web.flash import flash
from classmill.server.web.forms import FormText, PageError, error_status, form_body, page_error
from classmill.server.web.rendering import render
from classmill.server.web.routes.listing import PageNumber, Pager, page_request
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingVisitor, Visitor, VisitorDep

router = APIRouter(prefix="/account", route_class=PageRoute, include_in_schema=False)


@router.get("")
def account(request: Request, visitor: VisitorDep, session: SessionDep, page: PageNumber = 1) -> Response:
    return _account_page(request, visitor, session, page)


@router.post("/tokens")
def create_token(request: Request, visitor: PostingVisitor, session: SessionDep, name: FormText = "") -> Response:
    try:
        created = tokens.create_token(session, visitor.user, form_body(TokenRequest, name=name).name)
    except UserError as exc:
        return _account_page(request, visitor, session, 1, status=error_status(exc), error=page_error(exc),
                             token_name=name)
    # Answered here, not redirected: the token exists only in this answer (which no cache keeps: no-store).
    return _account_page(request, visitor, session, 1, new_token=created)


@router.post("/password")
def change_password(request: Request, visitor: PostingVisitor, state: StateDep, session: SessionDep,
                    current_password: FormText = "", new_password: FormText = "",
                    new_password_again: FormText = "") -> Response:
    try:
        body = form_body(PasswordChange, current_password=current_password, new_password=new_password)
        if new_password != new_password_again:
            raise Invalid("the two new passwords differ.", "Type the same new password in both fields.",
                          code="passwords_differ")
        users.change_own_password(session, state.passwords, visitor.user, body.current_password, body.new_password)
    except UserError as exc:
        return _account_page(request, visitor, session, 1, status=error_status(exc), password_error=page_error(exc))
    # Every login of this user ended with the change (this one too): log in again with the new password.
    response = RedirectResponse("/login", status_code=303)
    clear_login_cookies(response)
    flash(response, "password_changed")
    return response


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: DbId, visitor: PostingVisitor, session: SessionDep) -> Response:
    revoked = tokens.revoke_token(session, visitor.user, token_id)
    response = RedirectResponse("/account", status_code=303)
    flash(response, "token_revoked", name=revoked.name)
    return response


def _account_page(request: Request, visitor: Visitor, session, page: int, *, status: int = 200,
                  error: PageError | None = None, token_name: str = "", new_token=None,
                  password_error: PageError | None = None) -> Response:
    found = tokens.list_tokens(session, visitor.user, page_request(page))
    return render(request, "account.html", visitor=visitor, status=status, tokens=found.rows,
                  pager=Pager.of(found, page), error=error, token_name=token_name, new_token=new_token,
                  password_error=password_error)
