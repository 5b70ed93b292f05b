"""Published endpoints: publish a model version under a name, list, read (URL, curl example, request
statistics), unpublish. The endpoints themselves answer under /serve/{name}/ (api/serving.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool

from classmill.server.api.deployment_schemas import EndpointOut, NewEndpoint
from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.services import deployments
from classmill.server.services.deployments import PublishedEndpoint
from classmill.server.state import ServerState

router = APIRouter(prefix="/endpoints", tags=["endpoints"])
_NOT_FOUND = {404: {"description": "no such endpoint, or one you cannot see"}}


def _out(published: PublishedEndpoint, state: ServerState, request: Request) -> EndpointOut:
    return EndpointOut.of(published, state.serving.stats.unflushed(published.endpoint.id), str(request.base_url))


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="Publish a model version as /serve/{name}/predict (the same API as `classmill serve`)",
             responses={409: {"description": "the name is taken, or the version has no bundle"},
                        422: {"description": "the name breaks the rule"}, 404: {"description": "no such model version"}})
def publish(body: NewEndpoint, user: CurrentUser, session: SessionDep, state: StateDep, request: Request) -> EndpointOut:
    published = deployments.publish(session, user, state.settings.workspace, body.model_version_id, body.name)
    return _out(published, state, request)


@router.get("", summary="The endpoints of projects you can read, oldest first (paged)")
def list_endpoints(user: CurrentUser, session: SessionDep, state: StateDep, request: Request,
                   page: PageDep) -> Page[EndpointOut]:
    found = deployments.list_endpoints(session, user, page)
    return Page(items=[_out(p, state, request) for p in found.rows], total=found.total, limit=page.limit,
                offset=page.offset)


@router.get("/{endpoint_id}", summary="One endpoint: URL, curl example, requests, errors and latency",
            responses=_NOT_FOUND)
def get_endpoint(endpoint_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep,
                 request: Request) -> EndpointOut:
    return _out(deployments.get_endpoint(session, user, endpoint_id), state, request)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND,
               summary="Unpublish: the URL answers 404 from now on (the model version stays)")
async def unpublish(endpoint_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> Response:
    endpoint = await run_in_threadpool(deployments.unpublish, session, user, endpoint_id)
    await state.serving.unload(endpoint.name, endpoint.id)  # its model leaves memory after its last request
    return Response(status_code=status.HTTP_204_NO_CONTENT)
