"""The dataset page's "import from a server path" form (admins, when CLASSMILL_IMPORT_ROOTS is set):
imports.import_server_path, the service behind POST /api/v1/datasets/{id}/imports/server-path.

After it starts, the dataset page follows the import the way it follows an uploaded zip's."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.dataset_schemas import ServerPathImport
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.services import imports
from classmill.server.web.flash import flash
from classmill.server.web.forms import FormText, error_status, form_body, page_error
from classmill.server.web.routes.dataset_pages import render_dataset_page
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingAdmin

router = APIRouter(prefix="/datasets/{dataset_id}", route_class=PageRoute, include_in_schema=False)


@router.post("/imports/server-path")
def import_server_path(request: Request, dataset_id: DbId, visitor: PostingAdmin, session: SessionDep,
                       state: StateDep, path: FormText = "") -> Response:
    try:
        body = form_body(ServerPathImport, path=path.strip())
        imports.import_server_path(session, state.executor, state.settings.import_roots, visitor.user, dataset_id,
                                   body.path)
    except UserError as exc:
        return render_dataset_page(request, visitor, session, state, dataset_id, status=error_status(exc),
                                   path_error=page_error(exc), path_form=path)
    response = RedirectResponse(f"/datasets/{dataset_id}", status_code=303)
    flash(response, "server_import_started", path=body.path)
    return response
