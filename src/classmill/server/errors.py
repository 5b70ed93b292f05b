"""Errors the services raise. Each knows its HTTP status and code; the CLI prints them as UserErrors."""

from __future__ import annotations

from classmill.errors import UserError


class ServiceError(UserError):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str, fix: str, code: str | None = None) -> None:
        super().__init__(f"{detail} {fix}")
        self.detail, self.fix = detail, fix
        if code:
            self.code = code


class NotAuthenticated(ServiceError):
    status, code = 401, "not_authenticated"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class Invalid(ServiceError):
    """A well-formed request whose values cannot be used (unknown hashes, a bad label, an empty edit)."""

    status, code = 422, "invalid"


class TooManyAttempts(ServiceError):
    status, code = 429, "too_many_attempts"

    def __init__(self, detail: str, fix: str, retry_after_s: int) -> None:
        super().__init__(detail, fix)
        self.retry_after_s = retry_after_s
