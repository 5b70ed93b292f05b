"""Request bodies: every one counted while it arrives and cut off past its limit (BodyLimit); uploads
streamed to a file in chunks, never whole in memory, under the upload size limit.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from classmill.server.errors import ServiceError


MAX_JSON_BYTES = 16 * 1024 * 1024  # any body but an upload's: an edit naming 50,000 hashes is ~2 MB
_LIMIT_KEY = "classmill.body_limit"  # scope entry: {"limit": bytes, "upload": bool}, raised by upload routes


class BodyTooLarge(HTTPException):
    """Raised from inside `receive`, so it must be an HTTPException: FastAPI turns others into a 400."""

    def __init__(self, limit: int, upload: bool) -> None:
        if upload:  # the same answer as the upload routes' own check
            problem = _too_large(limit)
            detail, self.code, self.fix = problem.detail, problem.code, problem.fix
        else:
            detail = f"the request body is larger than the server's limit of {limit:,} bytes."
            self.code = "request_too_large"
            self.fix = "Send a smaller request: split a long list of images into several edits."
        super().__init__(413, detail)


class BodyLimit:
    """ASGI middleware: counts the bytes of every request body as they arrive and stops at the limit.

    The count, not the Content-Length, decides, so a chunked body, or one longer than it said, is
    stopped too; a declared length over the limit is refused before a byte is read. The limit is
    MAX_JSON_BYTES unless an upload route raised it (declared_length) before reading its body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        box = scope[_LIMIT_KEY] = {"limit": MAX_JSON_BYTES, "upload": False}
        received = 0

        async def counted() -> Message:
            nonlocal received
            declared = dict(scope["headers"]).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > box["limit"]:
                raise BodyTooLarge(box["limit"], box["upload"])
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > box["limit"]:
                    raise BodyTooLarge(box["limit"], box["upload"])
            return message

        await self.app(scope, counted, send)


class PayloadTooLarge(ServiceError):
    status, code = 413, "upload_too_large"


class LengthRequired(ServiceError):
    status, code = 411, "length_required"


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the upload is larger than the server's limit of {limit / 1e9:.2f} GB.",
                           "Split the dataset into smaller zips, or ask the admin to raise CLASSMILL_MAX_UPLOAD_BYTES.")


def declared_length(request: Request, limit: int, *, required: bool = False) -> int | None:
    """The Content-Length, refused early (413) when over `limit`; 411 when required and missing.

    Also raises this request's body limit (BodyLimit) from MAX_JSON_BYTES to `limit`: call it before reading.
    """
    box = request.scope.get(_LIMIT_KEY)
    if box is not None:
        box["limit"], box["upload"] = limit, True
    text = request.headers.get("content-length")
    if text is None:
        if required:
            raise LengthRequired("the request has no Content-Length.", "Send the files with a Content-Length header "
                                 "(any HTTP client does for a multipart form).")
        return None
    if not text.isdigit():
        raise ServiceError("the Content-Length header is not a number.", "Send a valid request.", code="bad_length")
    if int(text) > limit:
        raise _too_large(limit)
    return int(text)


async def stream_body_to(request: Request, target: Path, limit: int) -> int:
    """Write the body to `target` chunk by chunk; returns its size. On any failure `target` is removed.

    A body that stops short of its Content-Length (a dropped connection) is refused, so a truncated
    upload never becomes an import.
    """
    expected = declared_length(request, limit)
    written = 0
    handle = await run_in_threadpool(open, target, "xb")
    try:
        async for chunk in request.stream():
            written += len(chunk)
            if written > limit:
                raise _too_large(limit)
            if chunk:
                await run_in_threadpool(handle.write, chunk)
        handle.close()
        if expected is not None and written != expected:
            raise ServiceError(f"the upload ended after {written} of {expected} bytes.",
                               "Send it again; nothing was stored.", code="truncated_upload")
        if written == 0:
            raise ServiceError("the upload is empty.", "Send the zip file as the request body.", code="empty_upload")
    except BaseException:
        handle.close()
        target.unlink(missing_ok=True)
        raise
    return written
