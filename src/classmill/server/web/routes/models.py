"""Model version pages: the report as a page (with thresholds, INT8 and downloads), the test page and the
comparison of two versions. Live parts (threshold previews, images of a confusion cell, tests) are fetched
by static/models.js from the JSON API: the same services, one implementation."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.model_report_schemas import ComparisonOut
from classmill.server.api.numbers import DbId
from classmill.server.db.projects import Project
from classmill.server.db.training import ModelVersion
from classmill.server.errors import NotFound
from classmill.server.services import model_compare, model_versions, projects
from classmill.server.services.model_tests import MAX_TEST_IMAGES
from classmill.server.services.paging import PageRequest
from classmill.server.web.rendering import render
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import Visitor, VisitorDep

router = APIRouter(prefix="/models", route_class=PageRoute, include_in_schema=False)
REPORT_SPLIT = "val"  # what training evaluates; the pages show it
SIBLINGS = 200  # versions of the project offered for comparison
COMPARE_IMAGES = 60  # images listed per verdict on the compare page


@dataclass(frozen=True)
class ModelHeader:
    """What every model version page shows above its content: the version, its project, its siblings."""

    version: ModelVersion
    project: Project
    siblings: list[ModelVersion]


def model_header(session, visitor: Visitor, version_id: int) -> ModelHeader:
    version = model_versions.get_model_version(session, visitor.user, version_id)
    project = projects.get_project(session, visitor.user, version.project_id)
    siblings = model_versions.list_model_versions(session, visitor.user, project.id,
                                                  PageRequest(limit=SIBLINGS, offset=0)).rows
    return ModelHeader(version, project, list(siblings))


def _report(session, visitor: Visitor, version_id: int, workspace) -> dict | None:
    """The version's evaluation report, or None when it has none (a version made without evaluation)."""
    try:
        return model_versions.report_json(session, visitor.user, version_id, REPORT_SPLIT, workspace)
    except NotFound:
        return None


@router.get("/compare")
def compare_page(request: Request, visitor: VisitorDep, session: SessionDep, state: StateDep, a: DbId,
                 b: DbId) -> Response:
    comparison = ComparisonOut.of(model_compare.compare_versions(session, visitor.user, a, b, REPORT_SPLIT,
                                                                 COMPARE_IMAGES, state.settings.workspace))
    header = model_header(session, visitor, b)
    return render(request, "models_compare.html", visitor=visitor, header=header, comparison=comparison,
                  section="projects")


@router.get("/{version_id}")
def model_page(request: Request, version_id: DbId, visitor: VisitorDep, session: SessionDep,
               state: StateDep) -> Response:
    header = model_header(session, visitor, version_id)
    report = _report(session, visitor, version_id, state.settings.workspace)
    return render(request, "models_version.html", visitor=visitor, header=header, report=report,
                  split=REPORT_SPLIT, tab="report", section="projects")


@router.get("/{version_id}/test")
def test_page(request: Request, version_id: DbId, visitor: VisitorDep, session: SessionDep) -> Response:
    header = model_header(session, visitor, version_id)
    return render(request, "models_test.html", visitor=visitor, header=header, max_images=MAX_TEST_IMAGES,
                  tab="test", section="projects")
