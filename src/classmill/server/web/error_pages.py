"""Browser-facing routing errors: a page address that does not exist (404) or that does not take the
request's method (405) answers a page in the site's layout; the API, the published endpoints and the
static files keep the API's JSON answer (its exception handler is shared by the whole app).
"""

from __future__ import annotations

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from classmill.server.api.problems import SERVE_PREFIX, http_error_response
from classmill.server.api.routes import API_PREFIX
from classmill.server.errors import NotFound, ServiceError
from classmill.server.web.routing import error_page
from classmill.server.web.static import STATIC_PREFIX

# Paths that are not pages: their callers are programs, which read the JSON shape.
_NOT_PAGES = (API_PREFIX + "/", SERVE_PREFIX + "/", STATIC_PREFIX + "/")
_NOT_PAGE_PATHS = frozenset({API_PREFIX, SERVE_PREFIX, STATIC_PREFIX, "/openapi.json", "/docs"})


class MethodNotAllowed(ServiceError):
    status, code = 405, "method_not_allowed"


def is_page_path(path: str) -> bool:
    return path not in _NOT_PAGE_PATHS and not path.startswith(_NOT_PAGES)


async def on_http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code not in (404, 405) or not is_page_path(request.url.path):
        return http_error_response(exc)
    if exc.status_code == 404:
        error = NotFound("there is no page at this address.", "Check the address, or start again from the start page.",
                         code="page_not_found")
    else:
        error = MethodNotAllowed("this page does not take that kind of request.",
                                 "Go back and use the page's own links and buttons.")
    response = await run_in_threadpool(error_page, request, error)
    for name, value in (exc.headers or {}).items():  # 405's Allow
        response.headers[name] = value
    return response


def install_page_error_handlers(app) -> None:
    """After install_server_problem_handlers: replaces its routing-error handler with one that knows pages."""
    app.add_exception_handler(HTTPException, on_http_error)
