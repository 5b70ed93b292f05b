"""Restoring an earlier version (the versions list's "Restore this version") and the flash's Undo button.

Both are version_edits.restore_version, the service behind POST /api/v1/datasets/{id}/versions/{number}/restore,
with the API's RestoreRequest checking the form. `back` says which page the visitor came from and returns to:
the new version's gallery or the dataset page (a name, never a URL, so the form cannot redirect elsewhere).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.api.version_schemas import RestoreRequest
from classmill.server.services import version_edits
from classmill.server.web.flash import flash, flash_new_version
from classmill.server.web.forms import FormText, error_status, form_body, page_error
from classmill.server.web.routes.dataset_pages import render_dataset_page
from classmill.server.web.routes.gallery_pages import NO_FILTER, render_gallery_page
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingVisitor

router = APIRouter(prefix="/datasets/{dataset_id}/versions/{number}", route_class=PageRoute, include_in_schema=False)


@router.post("/restore")
def restore_version(request: Request, dataset_id: DbId, number: DbId, visitor: PostingVisitor, session: SessionDep,
                    state: StateDep, from_version: FormText = "", back: FormText = "", undo: FormText = "") -> Response:
    to_gallery = back == "gallery"
    try:
        body = form_body(RestoreRequest, from_version=from_version.strip())
        made = version_edits.restore_version(session, visitor.user, dataset_id, number, from_number=body.from_version)
    except UserError as exc:
        if to_gallery:
            return render_gallery_page(request, visitor, session, dataset_id, number, NO_FILTER, 1,
                                       status=error_status(exc), error=page_error(exc))
        return render_dataset_page(request, visitor, session, state, dataset_id, status=error_status(exc),
                                   restore_error=page_error(exc))
    response = RedirectResponse(f"/datasets/{dataset_id}/versions/{made.number}/gallery" if to_gallery
                                else f"/datasets/{dataset_id}", status_code=303)
    if undo:  # an undo says what it undid, and offers no undo of its own (restoring the undone version redoes it)
        flash(response, "version_undone", number=str(made.number), source=str(body.from_version), undone=str(number))
    else:
        flash_new_version(response, dataset_id, made.number, number, made.summary,
                          back="gallery" if to_gallery else "dataset")
    return response
