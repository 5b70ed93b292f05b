"""A model version's deploy page: publish it under a name, its endpoints' URL, curl example and request
statistics, and unpublish (forms: the page works without scripts)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from classmill.errors import UserError
from classmill.server.api.deployment_schemas import EndpointOut, NewEndpoint
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.services import deployments
from classmill.server.web.flash import flash
from classmill.server.web.forms import FormText, PageError, error_status, form_body, page_error
from classmill.server.web.rendering import render
from classmill.server.web.routes.models import model_header
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingVisitor, Visitor, VisitorDep

router = APIRouter(prefix="/models/{version_id}/deploy", route_class=PageRoute, include_in_schema=False)


@router.get("")
def deploy_page(request: Request, version_id: DbId, visitor: VisitorDep, session: SessionDep,
                state: StateDep) -> Response:
    return _deploy_page(request, version_id, visitor, session, state)


@router.post("")
def publish(request: Request, version_id: DbId, visitor: PostingVisitor, session: SessionDep, state: StateDep,
            name: FormText = "") -> Response:
    try:
        body = form_body(NewEndpoint, model_version_id=version_id, name=name.strip())
        published = deployments.publish(session, visitor.user, state.settings.workspace, version_id, body.name)
    except UserError as exc:
        return _deploy_page(request, version_id, visitor, session, state, status=error_status(exc),
                            error=page_error(exc), name=name)
    response = RedirectResponse(f"/models/{version_id}/deploy", status_code=303)
    flash(response, "endpoint_published", name=published.endpoint.name)
    return response


@router.post("/{endpoint_id}/unpublish")
async def unpublish(version_id: DbId, endpoint_id: DbId, visitor: PostingVisitor, session: SessionDep,
                    state: StateDep) -> Response:
    endpoint = await run_in_threadpool(deployments.unpublish, session, visitor.user, endpoint_id)
    await state.serving.unload(endpoint.name, endpoint.id)  # as the API does: its model leaves memory
    response = RedirectResponse(f"/models/{version_id}/deploy", status_code=303)
    flash(response, "endpoint_unpublished", name=endpoint.name)
    return response


def _deploy_page(request: Request, version_id: int, visitor: Visitor, session, state, *, status: int = 200,
                 error: PageError | None = None, name: str = "") -> Response:
    header = model_header(session, visitor, version_id)
    base_url = str(request.base_url)
    endpoints = [EndpointOut.of(p, state.serving.stats.unflushed(p.endpoint.id), base_url)
                 for p in deployments.version_endpoints(session, visitor.user, version_id)]
    suggested = f"{header.project.name}-v{header.version.number}"
    return render(request, "models_deploy.html", visitor=visitor, status=status, header=header,
                  endpoints=endpoints, error=error, name=name or _url_name(suggested, header.version),
                  tab="deploy", section="projects")


def _url_name(text: str, version) -> str:
    """A name that keeps the rule (lowercase letters, digits, '-') as the form's starting value."""
    kept = "".join(c if c.isascii() and c.isalnum() else "-" for c in text.lower()).strip("-")
    kept = "-".join(part for part in kept.split("-") if part)
    return kept[:64] if len(kept) >= 3 else f"model-{version.project_id}-v{version.number}"
