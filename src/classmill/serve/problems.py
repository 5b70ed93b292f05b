"""The service's 4xx answers: one JSON shape saying what is wrong, which file, and how to fix it."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from classmill.errors import UserError
from classmill.infer.sources import ArchiveError


class ApiProblem(Exception):
    """Raised by routes; rendered as {"detail", "code", "fix", "filename"?} with `status`."""

    def __init__(self, status: int, code: str, detail: str, fix: str, filename: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.fix, self.filename = status, code, detail, fix, filename

    def to_dict(self) -> dict:
        body = {"detail": self.detail, "code": self.code, "fix": self.fix}
        if self.filename is not None:
            body["filename"] = self.filename
        return body


def problem_response(problem: ApiProblem) -> JSONResponse:
    return JSONResponse(problem.to_dict(), status_code=problem.status)


async def _on_problem(request: Request, exc: ApiProblem) -> JSONResponse:
    return problem_response(exc)


def user_error_problem(exc: UserError) -> ApiProblem:
    """A library error met while answering (a bad zip, ...) as the service's 400."""
    if isinstance(exc, ArchiveError):
        return ApiProblem(400, "bad_zip", str(exc), "Send a valid .zip of images with relative paths.")
    return ApiProblem(400, "bad_request", str(exc), "Change the request as the message says.")


async def _on_user_error(request: Request, exc: UserError) -> JSONResponse:
    return problem_response(user_error_problem(exc))


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    return validation_response(exc)


def validation_response(exc: RequestValidationError) -> JSONResponse:
    """The prediction routes' 422 for a malformed request (also what the platform answers on /serve/...)."""
    # FastAPI's default lists pydantic internals; say which field is wrong in one sentence.
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    fix = "Send images as multipart/form-data: field 'files' (or 'file') for /predict, 'file' for /predict/image and /predict/batch."
    return JSONResponse(
        {"detail": "; ".join(parts) or "invalid request", "code": "invalid_request", "fix": fix, "errors": jsonable(exc.errors())},
        status_code=422,
    )


def jsonable(errors: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]


def install_problem_handlers(app) -> None:
    app.add_exception_handler(ApiProblem, _on_problem)
    app.add_exception_handler(UserError, _on_user_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
