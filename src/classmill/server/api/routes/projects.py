"""Projects: create one on a dataset you can read, list the ones you can see, read, rename, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from classmill.server.api.deps import CurrentUser, SessionDep
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.services import projects
from classmill.server.services.projects import DESCRIPTION_MAX, NAME_MAX

router = APIRouter(prefix="/projects", tags=["projects"])


class NewProject(BaseModel):
    name: str = Field(max_length=NAME_MAX)
    dataset_id: DbId = Field(description="a dataset you own, or one shared with you")
    description: str = Field("", max_length=DESCRIPTION_MAX)
    task_type: Literal["image_classification"] = "image_classification"


class ProjectChange(BaseModel):
    name: str | None = Field(None, max_length=NAME_MAX)
    description: str | None = Field(None, max_length=DESCRIPTION_MAX)


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    task_type: str
    dataset_id: int
    owner_id: int
    created_at: datetime


_NOT_FOUND = {404: {"description": "no such project, or one you cannot see"}}


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a project on a dataset",
             responses={404: {"description": "no such dataset, or one you cannot see"},
                        409: {"description": "you have a project with this name"}})
def create_project(body: NewProject, user: CurrentUser, session: SessionDep) -> ProjectOut:
    created = projects.create_project(session, user, body.name, body.dataset_id, body.description)
    return ProjectOut.model_validate(created)


@router.get("", summary="Projects you own or that were shared with you (admins: all), oldest first (paged)")
def list_projects(user: CurrentUser, session: SessionDep, page: PageDep,
                  dataset_id: Annotated[DbId | None, Query(description="only the projects on this dataset")] = None,
                  ) -> Page[ProjectOut]:
    found = projects.list_projects(session, user, page, dataset_id)
    return Page(items=[ProjectOut.model_validate(p) for p in found.rows], total=found.total,
                limit=page.limit, offset=page.offset)


@router.get("/{project_id}", summary="One project", responses=_NOT_FOUND)
def get_project(project_id: DbId, user: CurrentUser, session: SessionDep) -> ProjectOut:
    return ProjectOut.model_validate(projects.get_project(session, user, project_id))


@router.patch("/{project_id}", summary="Rename or re-describe a project (needs write access)",
              responses={**_NOT_FOUND, 403: {"description": "shared with you read-only"}})
def update_project(project_id: DbId, body: ProjectChange, user: CurrentUser, session: SessionDep) -> ProjectOut:
    changed = projects.update_project(session, user, project_id, name=body.name, description=body.description)
    return ProjectOut.model_validate(changed)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a project and its shares (its dataset stays); owner or admin only",
               responses={**_NOT_FOUND, 403: {"description": "not the owner or an admin"}})
def delete_project(project_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    projects.delete_project(session, user, project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
