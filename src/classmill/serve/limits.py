"""Request body caps enforced while the body streams in, before multipart parsing spools it.

A declared Content-Length over the cap is refused without reading anything; a chunked body is
counted as it arrives and cut off at the cap.
"""

from __future__ import annotations

import json
from typing import Callable

_TOO_LARGE_FIX = "Send smaller or fewer files per request (resize photos, or split the zip)."


class _BodyTooLarge(Exception):
    pass


def too_large_problem(path: str, limit: int) -> dict:
    """The 413 answer's body (the one error shape): the default of BodySizeLimit's `problem_for`."""
    return {
        "detail": f"request body is larger than this server accepts ({limit // (1024 * 1024)} MiB).",
        "code": "request_too_large",
        "fix": _TOO_LARGE_FIX,
    }


async def _send_413(send, problem: dict) -> None:
    body = json.dumps(problem).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """ASGI middleware; limit_for(path) gives the byte cap for a request to that path, and
    problem_for(path, limit) the 413 answer (default: too_large_problem). The offline service and
    the platform server both use it."""

    def __init__(self, app, limit_for: Callable[[str], int],
                 problem_for: Callable[[str, int], dict] = too_large_problem) -> None:
        self.app = app
        self.limit_for = limit_for
        self.problem_for = problem_for

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(send, self.problem_for(scope["path"], limit))
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive():
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's reaction to the cut-off body is replaced by our 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _send_413(send, self.problem_for(scope["path"], limit))
