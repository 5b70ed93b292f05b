"""The dataset page's split dialog: val and test shares (in percent) and a seed -> version_edits.apply_split,
the service behind POST /api/v1/datasets/{id}/versions/{number}/split, with the API's SplitRequest limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.api.version_schemas import SplitRequest
from classmill.server.errors import Invalid
from classmill.server.services import version_edits
from classmill.server.web.flash import flash_new_version
from classmill.server.web.forms import FormText, error_status, form_body, page_error
from classmill.server.web.routes.dataset_pages import render_dataset_page
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingVisitor

router = APIRouter(prefix="/datasets/{dataset_id}/versions/{number}", route_class=PageRoute, include_in_schema=False)


@router.post("/split")
def split_version(request: Request, dataset_id: DbId, number: DbId, visitor: PostingVisitor, session: SessionDep,
                  state: StateDep, val: FormText = "", test: FormText = "", seed: FormText = "") -> Response:
    entered = {"val": val, "test": test, "seed": seed}
    try:
        body = form_body(SplitRequest, val=_fraction(val, "val"), test=_fraction(test, "test"), seed=seed.strip())
        made = version_edits.apply_split(session, visitor.user, dataset_id, number, val=body.val, test=body.test,
                                         seed=body.seed)
    except UserError as exc:
        return render_dataset_page(request, visitor, session, state, dataset_id, status=error_status(exc),
                                   split_error=page_error(exc), split_form=entered)
    response = RedirectResponse(f"/datasets/{dataset_id}", status_code=303)
    flash_new_version(response, dataset_id, made.number, number, made.summary, back="dataset")
    return response


def _fraction(percent: str, field: str) -> float:
    """A share typed in percent (the dialog's unit) as the API's fraction; SplitRequest checks its range."""
    try:
        value = float(percent.strip().rstrip("%"))
    except ValueError:
        raise Invalid(f"the {field} share {percent[:20]!r} is not a number.",
                      "Type a percentage such as 20.", code="invalid_form") from None
    if not 0 <= value < 100:  # SplitRequest's 0 <= fraction < 1, said in the dialog's unit
        raise Invalid(f"the {field} share is {value:g} %; it must be at least 0 and under 100 %.",
                      "Type a percentage such as 20.", code="invalid_form")
    return value / 100
