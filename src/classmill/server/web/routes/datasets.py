"""Datasets: the list (status, images, classes, newest version) and creating an empty dataset."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.dataset_schemas import NewDataset
from classmill.server.api.deps import SessionDep
from classmill.server.services import datasets
from classmill.server.web.flash import flash
from classmill.server.web.forms import FormText, PageError, error_status, form_body, page_error
from classmill.server.web.rendering import render
from classmill.server.web.routes.listing import PageNumber, Pager, page_request
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingVisitor, Visitor, VisitorDep

router = APIRouter(prefix="/datasets", route_class=PageRoute, include_in_schema=False)


@router.get("")
def dataset_list(request: Request, visitor: VisitorDep, session: SessionDep, page: PageNumber = 1) -> Response:
    return _datasets_page(request, visitor, session, page)


@router.post("")
def create_dataset(request: Request, visitor: PostingVisitor, session: SessionDep, name: FormText = "",
                   description: FormText = "") -> Response:
    try:
        body = form_body(NewDataset, name=name, description=description)
        created = datasets.create_dataset(session, visitor.user, body.name, body.description, body.task_type)
    except UserError as exc:
        return _datasets_page(request, visitor, session, 1, status=error_status(exc), error=page_error(exc),
                              form={"name": name, "description": description})
    response = RedirectResponse("/datasets", status_code=303)
    flash(response, "dataset_created", name=created.name)
    return response


def _datasets_page(request: Request, visitor: Visitor, session, page: int, *, status: int = 200,
                   error: PageError | None = None, form: dict | None = None) -> Response:
    found = datasets.list_datasets(session, visitor.user, page_request(page))
    latest = datasets.latest_versions(session, [d.id for d in found.rows])
    return render(request, "datasets.html", visitor=visitor, status=status, datasets=found.rows, latest=latest,
                  pager=Pager.of(found, page), error=error, form=form or {"name": "", "description": ""})
