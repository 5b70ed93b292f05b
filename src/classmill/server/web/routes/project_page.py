"""One project's page: its dataset, tasks (state, progress), model versions, and who it is shared with."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.deps import SessionDep
from classmill.server.api.numbers import DbId
from classmill.server.api.routes.shares import NewShare
from classmill.server.db.projects import Project
from classmill.server.errors import NotFound
from classmill.server.services import datasets, model_versions, projects, sharing, tasks
from classmill.server.services.paging import PageRequest
from classmill.server.web.flash import flash
from classmill.server.web.forms import FormText, PageError, error_status, form_body, page_error
from classmill.server.web.rendering import render
from classmill.server.web.routes.listing import PageNumber, Pager, page_request
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingVisitor, Visitor, VisitorDep

router = APIRouter(prefix="/projects/{project_id}", route_class=PageRoute, include_in_schema=False)
SHARES_SHOWN = 200  # a project shared with more people lists the first ones and says how many there are
VERSIONS_SHOWN = 200


@router.get("")
def project_page(request: Request, project_id: DbId, visitor: VisitorDep, session: SessionDep,
                 page: PageNumber = 1) -> Response:
    return _project_page(request, visitor, session, project_id, page)


@router.get("/shares")
def shares_address(project_id: DbId, visitor: VisitorDep) -> Response:
    """The form's own address, reached again by a page switch after a refused share: the project's sharing."""
    return RedirectResponse(f"/projects/{project_id}#sharing", status_code=303)


@router.post("/shares")
def add_share(request: Request, project_id: DbId, visitor: PostingVisitor, session: SessionDep,
              username: FormText = "", permission: FormText = "read") -> Response:
    try:
        body = form_body(NewShare, username=username, permission=permission)
        made = sharing.share(session, visitor.user, Project, project_id, body.username, body.permission)
    except UserError as exc:
        return _project_page(request, visitor, session, project_id, 1, status=error_status(exc),
                             share_error=page_error(exc), share_form={"username": username, "permission": permission})
    response = RedirectResponse(f"/projects/{project_id}#sharing", status_code=303)
    flash(response, "project_shared_read" if made.permission == "read" else "project_shared_write",
          name=made.username)
    return response


@router.post("/shares/{username}/revoke")
def revoke_share(request: Request, project_id: DbId, username: str, visitor: PostingVisitor,
                 session: SessionDep) -> Response:
    try:
        sharing.revoke_share(session, visitor.user, Project, project_id, username)
    except UserError as exc:
        return _project_page(request, visitor, session, project_id, 1, status=error_status(exc),
                             share_error=page_error(exc))
    # A holder who left a project no longer sees it: back to the list, not to a 404.
    target = f"/projects/{project_id}#sharing" if username.strip().lower() != visitor.user.username else "/projects"
    response = RedirectResponse(target, status_code=303)
    flash(response, "project_share_revoked", name=username.strip().lower())
    return response


def _project_page(request: Request, visitor: Visitor, session, project_id: int, page: int, *, status: int = 200,
                  share_error: PageError | None = None, share_form: dict | None = None) -> Response:
    project = projects.get_project(session, visitor.user, project_id)
    try:
        dataset = datasets.get_dataset(session, visitor.user, project.dataset_id)
    except NotFound:  # a project can be shared without its dataset: its name is not the visitor's to see
        dataset = None
    found = tasks.list_tasks(session, visitor.user, project_id, page_request(page))
    total = model_versions.list_model_versions(session, visitor.user, project_id, PageRequest(limit=1, offset=0)).total
    versions = model_versions.list_model_versions(session, visitor.user, project_id, PageRequest(
        limit=VERSIONS_SHOWN, offset=max(0, total - VERSIONS_SHOWN)))  # the newest ones
    manages = sharing.may_manage(visitor.user, project)
    shares = (sharing.list_shares(session, visitor.user, Project, project_id, PageRequest(limit=SHARES_SHOWN, offset=0))
              if manages else None)
    return render(request, "project.html", visitor=visitor, status=status, project=project, dataset=dataset,
                  newest=next(iter(tasks.project_dataset_versions(session, visitor.user, project_id, 1)), None), tasks=found.rows,
                  jobs=tasks.task_jobs(session, found.rows), pager=Pager.of(found, page),
                  versions=list(reversed(versions.rows)), versions_total=versions.total,
                  may_change=projects.may_change(session, visitor.user, project), manages=manages, shares=shares,
                  share_error=share_error, share_form=share_form or {"username": "", "permission": "read"})
