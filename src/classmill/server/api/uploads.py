"""Request bodies: every one counted while it arrives and cut off past its limit (body_limits, for
serve.limits.BodySizeLimit); uploads streamed to a file in chunks, never whole in memory.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from classmill.serve.app import body_limit_for
from classmill.serve.limits import too_large_problem
from classmill.serve.settings import ServeSettings
from classmill.server.api.problems import SERVE_PREFIX
from classmill.server.errors import ServiceError
from classmill.server.services.model_tests import MAX_TEST_IMAGE_BYTES, MAX_TEST_IMAGES


MAX_JSON_BYTES = 16 * 1024 * 1024  # any body but an upload's: an edit naming 50,000 hashes is ~2 MB
# The routes whose body is an upload (a zip, or images into a class): they get the upload limit.
_UPLOAD_PATH = re.compile(r"^/api/v1/(datasets/[^/]+/(imports|classes/[^/]+/images)|models/[^/]+/batch-tests)$")
# A single-image model test: at most 10 images of at most MAX_TEST_IMAGE_BYTES each, plus the form's overhead.
_MODEL_TEST_PATH = re.compile(r"^/api/v1/models/[^/]+/test$")
MODEL_TEST_BODY_BYTES = MAX_TEST_IMAGES * MAX_TEST_IMAGE_BYTES + 1024 * 1024
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a first entry, or an empty archive
MAX_NAME_CHARS = 255  # of an uploaded file's name: its end is kept, with the extension


def body_limits(upload_limit: int, serve: ServeSettings) -> dict:
    """BodySizeLimit's arguments for the server: every body is counted as it arrives and cut off at
    its limit (MAX_JSON_BYTES, `upload_limit` on the upload routes, less on a model test), before
    anything parses it. Published endpoints (/serve/...) get `classmill serve`'s limits and 413 answer,
    from `serve`."""
    serve_limit = body_limit_for(serve)

    def limit_for(path: str) -> int:
        if path.startswith(SERVE_PREFIX + "/"):
            return serve_limit(path)
        if _MODEL_TEST_PATH.match(path):
            return min(upload_limit, MODEL_TEST_BODY_BYTES)
        return upload_limit if _UPLOAD_PATH.match(path) else MAX_JSON_BYTES

    def problem_for(path: str, limit: int) -> dict:
        if path.startswith(SERVE_PREFIX + "/"):
            return too_large_problem(path, limit)
        if _MODEL_TEST_PATH.match(path):
            return {"detail": f"the request is larger than {limit / 2**20:.0f} MiB.", "code": "request_too_large",
                    "fix": f"Send at most {MAX_TEST_IMAGES} images of at most {MAX_TEST_IMAGE_BYTES / 2**20:g} MiB "
                           "each; zip more and start a batch test."}
        if _UPLOAD_PATH.match(path):  # the same answer as the upload routes' own check
            problem = _too_large(limit)
            return {"detail": problem.detail, "code": problem.code, "fix": problem.fix}
        return {"detail": f"the request body is larger than the server's limit of {limit:,} bytes.",
                "code": "request_too_large",
                "fix": "Send a smaller request: split a long list of images into several edits."}

    return {"limit_for": limit_for, "problem_for": problem_for}


class PayloadTooLarge(ServiceError):
    status, code = 413, "upload_too_large"


class LengthRequired(ServiceError):
    status, code = 411, "length_required"


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the upload is larger than the server's limit of {limit / 1e9:.2f} GB.",
                           "Split the dataset into smaller zips, or ask the admin to raise CLASSMILL_MAX_UPLOAD_BYTES.")


def declared_length(request: Request, limit: int, *, required: bool = False) -> int | None:
    """The Content-Length, refused early (413) when over `limit`; 411 when required and missing."""
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


def check_zip_magic(path: Path) -> None:
    """400 unless the file starts like a zip archive (the cheapest refusal of a wrong upload)."""
    with open(path, "rb") as fh:
        if fh.read(4) not in _ZIP_MAGIC:
            raise ServiceError("the upload is not a zip archive.",
                               "Send a .zip of images (e.g. images/<label>/*.jpg) as the request body.",
                               code="not_a_zip")


def given_name(filename: str | None, fallback: str) -> str:
    """An uploaded file's name as given, without any folder part and bounded like a file system's."""
    return re.split(r"[/\\]", filename or "")[-1][-MAX_NAME_CHARS:] or fallback
