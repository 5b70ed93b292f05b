"""The server's 4xx answers, all in the service's one shape: {"detail", "code", "fix", "filename"?}.

The shape and ApiProblem come from classmill.serve.problems; the handlers here add the server's
own errors (ServiceError) and give routing and validation errors the same shape. Under /serve/ (the
published endpoints) a malformed request gets exactly `classmill serve`'s answer.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from classmill.errors import UserError
from classmill.serve.problems import (ApiProblem, jsonable, problem_response, user_error_problem,
                                      validation_response)
from classmill.server.errors import ServiceError, TooManyAttempts

SERVE_PREFIX = "/serve"  # published endpoints: /serve/{name}/predict, ...

_HTTP_CODES = {
    401: ("not_authenticated", "Log in, or send 'Authorization: Bearer <token>'."),
    404: ("not_found", "Check the address; the API lives under /api/v1 and is listed at /docs."),
    405: ("method_not_allowed", "Use the method listed for this path at /docs."),
}


async def _on_problem(request: Request, exc: ApiProblem) -> JSONResponse:
    return problem_response(exc)


async def _on_service_error(request: Request, exc: ServiceError) -> JSONResponse:
    return service_error_response(exc)


def service_error_response(exc: ServiceError) -> JSONResponse:
    """A service's error as its 4xx (with Retry-After or WWW-Authenticate where the status needs one)."""
    response = problem_response(ApiProblem(exc.status, exc.code, exc.detail, exc.fix))
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    if exc.status == 401:  # RFC 9110: a 401 names the scheme that would work
        response.headers["WWW-Authenticate"] = 'Bearer realm="classmill"'
    return response


async def _on_user_error(request: Request, exc: UserError) -> JSONResponse:
    return problem_response(user_error_problem(exc))


async def _on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return http_error_response(exc)


def http_error_response(exc: HTTPException) -> JSONResponse:
    """A routing error (no such path, wrong method) in the API's shape."""
    code, fix = _HTTP_CODES.get(exc.status_code, ("http_error", "See /docs for how to call this API."))
    response = problem_response(ApiProblem(exc.status_code, code, str(exc.detail), fix))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    if request.url.path.startswith(SERVE_PREFIX + "/"):
        return validation_response(exc)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    body = ApiProblem(422, "invalid_request", "; ".join(parts) or "invalid request",
                      "Send the fields listed for this route at /docs, as JSON.").to_dict()
    return JSONResponse({**body, "errors": jsonable(exc.errors())}, status_code=422)


def install_server_problem_handlers(app) -> None:
    app.add_exception_handler(ApiProblem, _on_problem)
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(UserError, _on_user_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
