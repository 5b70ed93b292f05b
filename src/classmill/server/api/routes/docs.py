"""The API reference as one self-contained page (Swagger/ReDoc would load scripts from a CDN)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from classmill.serve.docs_page import render_api_docs

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(render_api_docs(request.app.openapi(), try_it=None))

