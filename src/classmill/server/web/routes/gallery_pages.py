"""A version's gallery: filtered thumbnails in server-side pages, and edits of the selected images (a new version).

The edits go through version_edits.change_images, the service behind POST .../images/edit, with the
API's own request body (ImagesEdit) checking the form: the page and the API share every rule.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.deps import SessionDep
from classmill.server.api.numbers import DbId
from classmill.server.api.version_schemas import ImagesEdit
from classmill.server.errors import Invalid
from classmill.server.services import datasets, gallery, version_edits, versions
from classmill.server.services.paging import PageRequest
from classmill.server.web.flash import flash_new_version
from classmill.server.web.forms import FormText, PageError, error_status, form_body, page_error
from classmill.server.web.rendering import render
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingVisitor, Visitor, VisitorDep

router = APIRouter(prefix="/datasets/{dataset_id}/versions/{number}", route_class=PageRoute, include_in_schema=False)

TILES_PER_PAGE = 60
MAX_PAGE = 1_000_000  # far past any version's last page; keeps the offset a small integer
EDIT_ACTIONS = ("relabel", "new_class", "move", "delete")
NO_FILTER = {"label": "", "split": "", "problem": "", "q": ""}
FilterText = Annotated[str, Query(max_length=200)]


@router.get("/gallery")
def gallery_view(request: Request, dataset_id: DbId, number: DbId, visitor: VisitorDep, session: SessionDep,
                 label: FilterText = "", split: FilterText = "", problem: FilterText = "", q: FilterText = "",
                 page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1) -> Response:
    where = {"label": label, "split": split, "problem": problem, "q": q}
    return render_gallery_page(request, visitor, session, dataset_id, number, where, page)


@router.post("/gallery/edit")
def edit_selected(request: Request, dataset_id: DbId, number: DbId, visitor: PostingVisitor, session: SessionDep,
                  action: FormText = "", hashes: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
                  label: FormText = "", split: FormText = "", new_class: FormText = "",
                  filter_label: FormText = "", filter_split: FormText = "", filter_problem: FormText = "",
                  filter_q: FormText = "") -> Response:
    where = {"label": filter_label, "split": filter_split, "problem": filter_problem, "q": filter_q}
    try:
        body = form_body(ImagesEdit, **_edit_fields(action, hashes, label, split, new_class.strip()))
        made = version_edits.change_images(session, visitor.user, dataset_id, number, delete=body.delete,
                                           relabel=[(r.hashes, r.label) for r in body.relabel],
                                           move=[(m.hashes, m.split) for m in body.move],
                                           new_classes=body.new_classes)
    except UserError as exc:
        return render_gallery_page(request, visitor, session, dataset_id, number, where, 1,
                                   status=error_status(exc), error=page_error(exc))
    # The new version's gallery, same filters but the class one (the images may have left that class).
    kept = {k: v for k, v in where.items() if v and not (k == "label" and action in ("relabel", "new_class"))}
    response = RedirectResponse(f"/datasets/{dataset_id}/versions/{made.number}/gallery"
                                + (f"?{urlencode(kept)}" if kept else ""), status_code=303)
    flash_new_version(response, dataset_id, made.number, number, made.summary, back="gallery")
    return response


def _edit_fields(action: str, hashes: list[str], label: str, split: str, new_class: str) -> dict:
    """The ImagesEdit body of one gallery action on the selected images."""
    if action not in EDIT_ACTIONS:
        raise Invalid(f"{action!r} is not an edit of the gallery.", "Choose an action from the list.",
                      code="invalid_form")
    if action == "relabel":
        return {"relabel": [{"hashes": hashes, "label": label}]}
    if action == "new_class":
        return {"relabel": [{"hashes": hashes, "label": new_class}], "new_classes": [new_class]}
    if action == "move":
        return {"move": [{"hashes": hashes, "split": split or None}]}
    return {"delete": hashes}


def render_gallery_page(request: Request, visitor: Visitor, session, dataset_id: int, number: int, where: dict,
                        page: int, *, status: int = 200, error: PageError | None = None) -> Response:
    """Page `page` of version `number`'s gallery filtered by `where` (NO_FILTER: all); `error`: a refused edit."""
    dataset, version = versions.get_version(session, visitor.user, dataset_id, number)
    found = gallery.gallery_page(session, visitor.user, dataset_id, number, gallery.GalleryFilter(
        where["label"] or None, where["split"] or None, where["problem"] or None, where["q"] or None),
        PageRequest(limit=TILES_PER_PAGE, offset=(page - 1) * TILES_PER_PAGE))
    newest = datasets.newest_version(session, dataset_id)
    report = version.check_report or {}
    rules = sorted({str(p.get("rule")) for p in [*report.get("errors", []), *report.get("warnings", [])]
                    if p.get("file") and p.get("rule")})
    pages = max(1, -(-found.total // TILES_PER_PAGE))
    query = {k: v for k, v in where.items() if v}
    return render(request, "dataset_gallery.html", visitor=visitor, status=status, error=error, dataset=dataset,
                  version=version, newest_number=newest.number if newest else number, images=found.rows,
                  tiles=[{"hash": i.content_hash, "name": i.original_name, "label": i.label, "split": i.split or "",
                          "width": i.width, "height": i.height} for i in found.rows],
                  total=found.total, page=page, pages=pages, where=where, rules=rules,
                  page_link=lambda n: "?" + urlencode({**query, "page": n}),
                  first_shown=(page - 1) * TILES_PER_PAGE + 1 if found.rows else 0,
                  last_shown=(page - 1) * TILES_PER_PAGE + len(found.rows))
