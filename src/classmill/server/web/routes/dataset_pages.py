"""One dataset's page (status, counts, versions, import, export, the newest check report) and a version's diff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.services import datasets, gallery, versions
from classmill.server.web.check_report import report_view
from classmill.server.web.i18n import translations
from classmill.server.web.rendering import render, request_locale
from classmill.server.web.routes.listing import PageNumber, Pager, page_request
from classmill.server.web.routing import PageRoute
from classmill.server.web.forms import PageError
from classmill.server.web.visitors import Visitor, VisitorDep

router = APIRouter(prefix="/datasets", route_class=PageRoute, include_in_schema=False)


@router.get("/{dataset_id}")
def dataset_page(request: Request, dataset_id: DbId, visitor: VisitorDep, session: SessionDep, state: StateDep,
                 page: PageNumber = 1) -> Response:
    return render_dataset_page(request, visitor, session, state, dataset_id, page)


def render_dataset_page(request: Request, visitor: Visitor, session, state, dataset_id: int, page: int = 1, *,
                        status: int = 200, split_error: PageError | None = None,
                        split_form: dict | None = None, path_error: PageError | None = None,
                        path_form: str = "", restore_error: PageError | None = None) -> Response:
    """The dataset page; split_error/split_form: a refused split, shown in its (open) dialog;
    path_error/path_form: a refused server-path import, shown in its form; restore_error: a refused
    restore (or undo), shown above the versions."""
    dataset = datasets.get_dataset(session, visitor.user, dataset_id)
    listed = versions.list_versions(session, visitor.user, dataset_id, page_request(page))
    newest = datasets.newest_version(session, dataset_id)
    counts = gallery.class_counts(session, visitor.user, dataset_id, newest.number) if newest else {}
    gettext = translations(request_locale(request)).gettext
    report = report_view(session, visitor.user, dataset_id, newest, gettext) if newest else None
    return render(request, "dataset.html", visitor=visitor, status=status, dataset=dataset, versions=listed.rows,
                  pager=Pager.of(listed, page), parents=versions.parent_numbers(session, listed.rows),
                  authors=versions.author_names(session, listed.rows), newest=newest, counts=counts,
                  has_split=any(row["train"] or row["val"] or row["test"] for row in counts.values()),
                  report=report, max_upload_bytes=state.settings.max_upload_bytes, split_error=split_error,
                  split_form=split_form or {"val": "20", "test": "10", "seed": "0"},
                  # only admins may import from the server's disk, and only from these folders
                  import_roots=state.settings.import_roots if visitor.user.is_admin else [],
                  path_error=path_error, path_form=path_form, restore_error=restore_error)


@router.get("/{dataset_id}/versions/{number}/diff")
def diff_page(request: Request, dataset_id: DbId, number: DbId, visitor: VisitorDep, session: SessionDep,
              from_number: Annotated[DbId | None, Query(alias="from")] = None) -> Response:
    dataset, version = versions.get_version(session, visitor.user, dataset_id, number)
    if from_number is None:
        from_number = versions.parent_numbers(session, [version]).get(version.id)
    diff = versions.diff_versions(session, visitor.user, dataset_id, from_number, number) if from_number else None
    return render(request, "dataset_diff.html", visitor=visitor, dataset=dataset, version=version,
                  from_number=from_number, diff=diff)
