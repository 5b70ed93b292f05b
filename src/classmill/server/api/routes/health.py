"""Liveness for load balancers and scripts; public, and it touches the database."""

from __future__ import annotations

from fastapi import APIRouter

from classmill import __version__
from classmill.server.api.deps import SessionDep
from classmill.server.api.schemas import Health
from classmill.server.services.health import database_backend

router = APIRouter(tags=["health"])


@router.get("/health", summary="Server and database are up (no login needed)")
def health(session: SessionDep) -> Health:
    return Health(status="ok", version=__version__, database=database_backend(session))
