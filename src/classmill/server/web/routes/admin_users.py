"""Admin: the users of this server — list, create, disable and enable (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.api.schemas import NewUser
from classmill.server.db.models import Role
from classmill.server.services import users
from classmill.server.web.flash import flash
from classmill.server.web.forms import FormText, PageError, error_status, form_body, page_error
from classmill.server.web.rendering import render
from classmill.server.web.routes.listing import PageNumber, Pager, page_request
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import AdminVisitor, PostingAdmin, Visitor

router = APIRouter(prefix="/admin/users", route_class=PageRoute, include_in_schema=False)


@router.get("")
def user_list(request: Request, visitor: AdminVisitor, session: SessionDep, page: PageNumber = 1) -> Response:
    return _users_page(request, visitor, session, page)


@router.post("")
def create_user(request: Request, visitor: PostingAdmin, state: StateDep, session: SessionDep,
                username: FormText = "", password: FormText = "", role: FormText = Role.member.value) -> Response:
    try:
        body = form_body(NewUser, username=username, password=password, role=role)
        created = users.create_user(session, state.passwords, body.username, body.password, body.role)
    except UserError as exc:
        return _users_page(request, visitor, session, 1, status=error_status(exc), error=page_error(exc),
                           form={"username": username, "role": role})
    response = RedirectResponse("/admin/users", status_code=303)
    flash(response, "user_created", name=created.username)
    return response


@router.post("/{user_id}/disable")
def disable_user(request: Request, user_id: DbId, visitor: PostingAdmin, session: SessionDep) -> Response:
    return _set_disabled(request, visitor, session, user_id, True)


@router.post("/{user_id}/enable")
def enable_user(request: Request, user_id: DbId, visitor: PostingAdmin, session: SessionDep) -> Response:
    return _set_disabled(request, visitor, session, user_id, False)


def _set_disabled(request: Request, visitor: Visitor, session, user_id: int, disabled: bool) -> Response:
    try:
        changed = users.set_disabled(session, user_id, disabled)
    except UserError as exc:  # e.g. the last active admin: said on the list, beside the button pressed
        return _users_page(request, visitor, session, 1, status=error_status(exc), error=page_error(exc))
    response = RedirectResponse("/admin/users", status_code=303)
    flash(response, "user_disabled" if disabled else "user_enabled", name=changed.username)
    return response


def _users_page(request: Request, visitor: Visitor, session, page: int, *, status: int = 200,
                error: PageError | None = None, form: dict | None = None) -> Response:
    found = users.list_users(session, page_request(page))
    return render(request, "admin_users.html", visitor=visitor, status=status, users=found.rows,
                  pager=Pager.of(found, page), error=error, roles=[r.value for r in Role],
                  form=form or {"username": "", "role": Role.member.value})
