"""Disk use of what the user can see (and, for admins, of the workspace's folders)."""

from __future__ import annotations

from fastapi import APIRouter

from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.services.disk_usage import disk_usage

router = APIRouter(prefix="/usage", tags=["usage"])


@router.get("", summary="Bytes per dataset (its stored files), model version (its folder) and task run "
            "(checkpoints); admins also get the workspace's folders")
def get_usage(user: CurrentUser, session: SessionDep, state: StateDep) -> dict:
    return disk_usage(session, user, state.settings.workspace)
