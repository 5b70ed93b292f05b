"""Published endpoints over HTTP: /serve/{name}/predict, /predict/image, /predict/batch, /health and /model.

These are the serve package's own routers (classmill.serve.routes), so a published endpoint takes
the same requests and gives the same answers as `classmill serve` on the same bundle; only where
the predictor comes from differs (the endpoint's model version, loaded once and cached).

A gate in front of them (ASGI middleware) authenticates and resolves the name first. It cannot be
a route dependency: FastAPI reads a multipart body before it solves the route's dependencies, so a
caller without a token could make the server receive and spool a whole upload before its 401.
The gate also times each prediction for the endpoint's statistics.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request
from starlette.concurrency import run_in_threadpool

from classmill.errors import UserError
from classmill.infer import Predictor
from classmill.serve.deps import get_predictor
from classmill.serve.problems import ApiProblem, problem_response
from classmill.serve.routes import info_router, prediction_router
from classmill.serve.state import STATE_ATTRIBUTE as SERVE_STATE_ATTRIBUTE
from classmill.server.api.deps import authenticate
from classmill.server.api.problems import SERVE_PREFIX, service_error_response
from classmill.server.errors import ServiceError
from classmill.server.services import deployments
from classmill.server.services.deployments import ServingTarget
from classmill.server.state import ServerState

log = logging.getLogger(__name__)

_ENDPOINT_PATH = re.compile(rf"^{SERVE_PREFIX}/([^/]+)/")
_LEASE = "classmill_endpoint_lease"  # request.state.<this>: the gate's hold on the endpoint's model


def mount_endpoints(app: FastAPI, state: ServerState) -> None:
    """Serve every published endpoint under /serve/{name}/ (add before the body-size middleware, so
    that one runs first: an oversized request is refused before any database lookup)."""
    for router in (prediction_router, info_router):
        app.include_router(router, prefix=SERVE_PREFIX + "/{name}", tags=["published endpoints"],
                           dependencies=[Depends(_endpoint_name)])
    app.dependency_overrides[get_predictor] = leased_predictor
    setattr(app.state, SERVE_STATE_ATTRIBUTE, state.serving.serve_state)
    app.add_middleware(ServingGate, state=state)


def _endpoint_name(
    name: Annotated[str, Path(description="the endpoint's name, as published (GET /api/v1/endpoints)")],
) -> str:
    return name  # declared so the API reference documents {name}; the gate has resolved it already


def leased_predictor(request: Request) -> Predictor:
    """The serve routers' predictor: the model the gate leased for this request's endpoint."""
    lease = getattr(request.state, _LEASE, None)
    if lease is None:  # only reachable if the gate's path rule and the routes disagree
        raise RuntimeError(f"no endpoint was resolved for {request.url.path}")
    return lease.model


class ServingGate:
    """ASGI middleware for /serve/{name}/...: credentials, the endpoint and its model before anything is read."""

    def __init__(self, app, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send) -> None:
        match = _ENDPOINT_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        runtime = self.state.serving
        try:
            target = await run_in_threadpool(self._target, Request(scope), match[1])
            lease, unused = await run_in_threadpool(runtime.acquire, target)
        except ServiceError as exc:  # 401, 403 (CSRF), 404: the error handlers are inside us, so answer here
            await service_error_response(exc)(scope, receive, send)
            return
        except UserError as exc:  # the bundle file went missing or is damaged since it was published
            log.error("endpoint %r cannot load its model: %s", match[1], exc)
            await problem_response(ApiProblem(
                503, "model_unavailable", f"endpoint {match[1]!r} cannot load its model: its bundle is missing or "
                "damaged on the server.", "Ask the endpoint's owner to publish a model version again.",
            ))(scope, receive, send)
            return
        await runtime.discard(unused)
        scope.setdefault("state", {})[_LEASE] = lease
        status = 500  # unless the app answers: an exception below is a server error

        async def send_noting_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            await runtime.discard(runtime.models.release(lease))
            if scope["method"] == "POST":  # predictions; GET /health and /model are not counted
                runtime.stats.record(target.endpoint_id, (time.perf_counter() - started) * 1000, status >= 400)

    def _target(self, request: Request, name: str) -> ServingTarget:
        # A session of its own, closed before the prediction: a request never holds a pooled
        # connection while it uploads or waits for its batch.
        with self.state.sessions() as session:
            user = authenticate(request, self.state.csrf_key, session)
            return deployments.serving_target(session, user, name, self.state.settings.workspace)
