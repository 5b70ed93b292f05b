"""Projects: the list and creating one on a dataset the visitor can read."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.deps import SessionDep
from classmill.server.api.routes.projects import NewProject
from classmill.server.services import datasets, projects
from classmill.server.services.paging import PageRequest
from classmill.server.web.flash import flash
from classmill.server.web.forms import FormText, PageError, error_status, form_body, page_error
from classmill.server.web.rendering import render
from classmill.server.web.routes.listing import PageNumber, Pager, page_request
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingVisitor, Visitor, VisitorDep

router = APIRouter(prefix="/projects", route_class=PageRoute, include_in_schema=False)
DATASET_CHOICES = 1000  # datasets offered in the new-project form (the newest ones when there are more)


@router.get("")
def project_list(request: Request, visitor: VisitorDep, session: SessionDep, page: PageNumber = 1) -> Response:
    return _projects_page(request, visitor, session, page)


@router.post("")
def create_project(request: Request, visitor: PostingVisitor, session: SessionDep, name: FormText = "",
                   dataset_id: FormText = "", description: FormText = "") -> Response:
    form = {"name": name, "dataset_id": dataset_id, "description": description}
    try:
        body = form_body(NewProject, name=name, dataset_id=dataset_id, description=description)
        created = projects.create_project(session, visitor.user, body.name, body.dataset_id, body.description)
    except UserError as exc:
        return _projects_page(request, visitor, session, 1, status=error_status(exc), error=page_error(exc),
                              form=form)
    response = RedirectResponse("/projects", status_code=303)
    flash(response, "project_created", name=created.name)
    return response


def _projects_page(request: Request, visitor: Visitor, session, page: int, *, status: int = 200,
                   error: PageError | None = None, form: dict | None = None) -> Response:
    found = projects.list_projects(session, visitor.user, page_request(page))
    total = datasets.list_datasets(session, visitor.user, PageRequest(limit=1, offset=0)).total
    offset = max(0, total - DATASET_CHOICES)
    choices = datasets.list_datasets(session, visitor.user, PageRequest(limit=DATASET_CHOICES, offset=offset)).rows
    return render(request, "projects.html", visitor=visitor, status=status, projects=found.rows,
                  pager=Pager.of(found, page), dataset_names={d.id: d.name for d in choices},
                  datasets=list(reversed(choices)), error=error,
                  form=form or {"name": "", "dataset_id": "", "description": ""})
