"""The pages' static files under /static: cached for a year, addressed by a hash of their content.

A file's URL carries ?v=<hash of its bytes> (static_url), so a new release's app.css is a new URL and
no browser keeps an old copy, while an unchanged file is never fetched twice.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles

STATIC_ROOT = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"
CACHE_CONTROL = "public, max-age=31536000, immutable"


class LongCachedStaticFiles(StaticFiles):
    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_files() -> StaticFiles:
    return LongCachedStaticFiles(directory=STATIC_ROOT)


@lru_cache(maxsize=None)
def static_url(name: str) -> str:
    """/static/<name>?v=<content hash>; a name that is not a file under static/ is a programming error."""
    path = (STATIC_ROOT / name).resolve()
    if not path.is_relative_to(STATIC_ROOT.resolve()) or not path.is_file():
        raise FileNotFoundError(f"no static file {name!r} under {STATIC_ROOT}")
    version = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}/{name}?v={version}"
