"""The standalone service's pages: the front door and an API reference that work offline
(the upload page is classmill.serve.routes.upload)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from classmill.serve.docs_page import render_api_docs

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/upload")


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> HTMLResponse:
    # Swagger/ReDoc need a CDN; this page is self-contained.
    return HTMLResponse(render_api_docs(request.app.openapi()))
