"""Published endpoints: a model version answering at /serve/{name}/...; publish, list, read, unpublish,
resolve a name for serving, and add the serving process's request statistics to the rows.

Who may do what follows the model version's project (services.access): publishing and unpublishing
need write access to it, reading (and calling the endpoint) read access; anything else is 404,
exactly like a name or id that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classmill.server.db.deployments import Endpoint
from classmill.server.db.models import User
from classmill.server.db.projects import Project
from classmill.server.db.session import writing
from classmill.server.db.training import ModelVersion
from classmill.server.errors import Conflict, Invalid, NotFound
from classmill.server.services.access import visible
from classmill.server.services.model_versions import bundle_path, get_model_version
from classmill.server.services.paging import PageOf, PageRequest, fetch_page

NAME_RULE = re.compile(r"[a-z0-9-]{3,64}")  # it becomes a URL path segment: nothing to escape, nothing to confuse
NAME_HELP = "3-64 characters: lowercase letters, digits and '-'"


@dataclass(frozen=True)
class PublishedEndpoint:
    endpoint: Endpoint
    version: ModelVersion


@dataclass(frozen=True)
class ServingTarget:
    """What a request to /serve/{name}/... needs, detached from the database session."""

    endpoint_id: int
    name: str
    model_version_id: int
    bundle: Path
    thresholds: dict[str, float]  # the version's deployed thresholds, applied by the predictor

    @property
    def model_key(self) -> tuple:
        """Equal keys serve the same answers: a changed version or threshold needs another predictor."""
        return self.model_version_id, str(self.bundle), tuple(sorted(self.thresholds.items()))


@dataclass(frozen=True)
class StatsDelta:
    """Requests one serving process answered for an endpoint since its last flush."""

    requests: int
    errors: int
    latency_ms_sum: float
    last_request_at: datetime | None
    latency_p50_ms: float | None  # over the process's recent window of requests
    latency_p99_ms: float | None


def check_name(name: str) -> str:
    if not NAME_RULE.fullmatch(name):
        suggestion = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:64]
        example = f" (e.g. '{suggestion}')" if NAME_RULE.fullmatch(suggestion) else ""
        raise Invalid(f"{name[:80]!r} cannot be an endpoint name: it is part of the URL.",
                      f"Use {NAME_HELP}{example}.", code="invalid_endpoint_name")
    return name


def publish(session: Session, user: User, workspace: Path, model_version_id: int, name: str) -> PublishedEndpoint:
    """Publish a model version the user may change as endpoint `name` (unique on the server)."""
    check_name(name)
    version = get_model_version(session, user, model_version_id, write=True)
    if not bundle_path(workspace, version).is_file():
        raise Conflict(f"model version {model_version_id} has no bundle file (model.cmb) to serve.",
                       "Its files were removed or never finished: train the task again (or extend it) and "
                       "publish the new version.", code="bundle_missing")
    taken = Conflict(f"the endpoint name {name!r} is already taken on this server.",
                     f"Choose another name (e.g. '{name[:60]}-2'), or unpublish the endpoint that has it first.",
                     code="endpoint_name_taken")
    try:
        with writing(session, lock_name="endpoints"):
            if session.scalar(select(Endpoint.id).where(Endpoint.name == name)) is not None:
                raise taken
            endpoint = Endpoint(name=name, model_version_id=version.id, owner_id=user.id)
            session.add(endpoint)
            session.flush()
    except IntegrityError:  # the version was deleted meanwhile (the name is guarded by the lock)
        raise NotFound(f"there is no model version {model_version_id}.",
                       "List a project's model versions: GET /api/v1/projects/{id}/models.",
                       code="model_not_found") from None
    return PublishedEndpoint(endpoint, version)


def list_endpoints(session: Session, user: User, page: PageRequest) -> PageOf[PublishedEndpoint]:
    """Endpoints of the projects the user may read (every endpoint for an admin), oldest first."""
    query = visible(select(Endpoint).join(ModelVersion, Endpoint.model_version_id == ModelVersion.id)
                    .join(Project, ModelVersion.project_id == Project.id), user, Project)
    found = fetch_page(session, query.order_by(Endpoint.id), page)
    ids = {e.model_version_id for e in found.rows}
    versions = {v.id: v for v in session.scalars(select(ModelVersion).where(ModelVersion.id.in_(ids)))} if ids else {}
    return PageOf([PublishedEndpoint(e, versions[e.model_version_id]) for e in found.rows], found.total, page)


def version_endpoints(session: Session, user: User, version_id: int) -> list[PublishedEndpoint]:
    """The endpoints serving one model version the user may read, oldest first (a version has a few at most)."""
    version = get_model_version(session, user, version_id)
    found = session.scalars(select(Endpoint).where(Endpoint.model_version_id == version_id).order_by(Endpoint.id))
    return [PublishedEndpoint(endpoint, version) for endpoint in found]


def _not_found(what: str) -> NotFound:
    return NotFound(f"there is no published endpoint {what}.",
                    "List the endpoints you can use: GET /api/v1/endpoints (publish one with POST /api/v1/endpoints).",
                    code="endpoint_not_found")


def _readable(session: Session, user: User, endpoint: Endpoint | None, what: str, *,
              write: bool = False) -> PublishedEndpoint:
    if endpoint is None:
        raise _not_found(what)
    try:
        version = get_model_version(session, user, endpoint.model_version_id, write=write)
    except NotFound:
        raise _not_found(what) from None
    return PublishedEndpoint(endpoint, version)


def get_endpoint(session: Session, user: User, endpoint_id: int) -> PublishedEndpoint:
    return _readable(session, user, session.get(Endpoint, endpoint_id, populate_existing=True), str(endpoint_id))


def unpublish(session: Session, user: User, endpoint_id: int) -> Endpoint:
    """Remove an endpoint of a project the user may change; its URL answers 404 from then on."""
    with writing(session, lock_name="endpoints"):
        published = _readable(session, user, session.get(Endpoint, endpoint_id, populate_existing=True),
                              str(endpoint_id), write=True)
        session.delete(published.endpoint)
    return published.endpoint


def serving_target(session: Session, user: User, name: str, workspace: Path) -> ServingTarget:
    """The endpoint `name` if `user` may read its project; 404 for an unknown, unpublished or hidden one."""
    if not NAME_RULE.fullmatch(name):  # never a database lookup for what cannot be a name
        raise _not_found(repr(name[:80]))
    endpoint = session.scalar(select(Endpoint).where(Endpoint.name == name))
    published = _readable(session, user, endpoint, repr(name))
    version = published.version
    return ServingTarget(endpoint.id, name, version.id, bundle_path(workspace, version),
                         {str(k): float(v) for k, v in (version.thresholds or {}).items()})


def add_stats(session: Session, deltas: dict[int, StatsDelta]) -> None:
    """Add each endpoint's new requests to its row in one transaction; an endpoint unpublished meanwhile is skipped."""
    if not deltas:
        return
    with writing(session):
        for endpoint_id, delta in deltas.items():
            # Increments in SQL: the row's totals are never read back and rewritten, so nothing is lost
            # to a concurrent writer.
            session.execute(update(Endpoint).where(Endpoint.id == endpoint_id).values(
                request_count=Endpoint.request_count + delta.requests,
                error_count=Endpoint.error_count + delta.errors,
                latency_ms_sum=Endpoint.latency_ms_sum + delta.latency_ms_sum,
                latency_p50_ms=delta.latency_p50_ms,
                latency_p99_ms=delta.latency_p99_ms,
                last_request_at=delta.last_request_at))
