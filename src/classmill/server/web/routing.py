"""PageRoute: how a page answers what its handler raises — a redirect, or an error page in plain words.

The API's exception handlers answer JSON for the whole app; a page route catches first, so a browser
gets a page: PageRedirect -> 303, a service's refusal -> its status with detail and fix, a malformed
request (a bad id in the path) -> 422, all in the visitor's language and layout.
"""

from __future__ import annotations

from typing import Callable

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from classmill.errors import UserError
from classmill.server.api.deps import get_state
from classmill.server.errors import Invalid
from classmill.server.web.forms import error_status, page_error
from classmill.server.web.rendering import render
from classmill.server.web.visitors import PageRedirect, find_visitor


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PageRedirect as redirect:
                return RedirectResponse(redirect.location, status_code=303)
            except UserError as exc:
                return await run_in_threadpool(error_page, request, exc)
            except RequestValidationError:
                invalid = Invalid("this address or form is not one the page understands.",
                                  "Go back and follow a link or button on the page.", code="invalid_request")
                return await run_in_threadpool(error_page, request, invalid)

        return page_handler


def error_page(request: Request, exc: UserError) -> Response:
    state = get_state(request)
    with state.sessions() as session:  # the handler's own session has ended with its exception
        visitor = find_visitor(request, state, session)
        status = error_status(exc)
        return render(request, "error.html", visitor=visitor, status=status, status_code=status,
                      error=page_error(exc))
