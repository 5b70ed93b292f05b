"""The standalone service's pages: the upload page and an API reference that work offline."""

from __future__ import annotations

from importlib.resources import files as package_files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from classmill.serve.docs_page import render_api_docs

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/upload")


@router.get("/upload", response_class=HTMLResponse)
async def upload_page() -> HTMLResponse:
    return HTMLResponse(package_files("classmill.serve").joinpath("static/upload.html").read_text(encoding="utf-8"))


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> HTMLResponse:
    # Swagger/ReDoc need a CDN; this page is self-contained.
    return HTMLResponse(render_api_docs(request.app.openapi()))
