"""First-run setup: create the first admin. Open only while no user exists; 409 afterwards."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from classmill.server.api.login import log_in
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.schemas import Credentials, LoginOut, SetupStatus
from classmill.server.services import users

router = APIRouter(prefix="/setup", tags=["setup"])


@router.get("", summary="Whether first-run setup is still needed")
def setup_status(session: SessionDep) -> SetupStatus:
    return SetupStatus(needed=not users.any_user_exists(session))


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create the first admin and log in as them",
             responses={409: {"description": "already set up"}})
def setup(body: Credentials, request: Request, response: Response, state: StateDep, session: SessionDep) -> LoginOut:
    user = users.create_first_admin(session, state.passwords, body.username, body.password)
    return log_in(session, state, user, request, response)
