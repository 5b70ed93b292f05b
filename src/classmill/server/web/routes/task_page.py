"""A task's page: live progress and curves (the page's script follows GET /api/v1/jobs/{id}/events), its
controls (the API's stop / pause / resume / extend), its log, a failure in plain words, its model versions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.services import projects, tasks
from classmill.server.services.tasks import MAX_EXTEND_EPOCHS
from classmill.server.web.rendering import render
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import VisitorDep

router = APIRouter(prefix="/tasks", route_class=PageRoute, include_in_schema=False)


@router.get("/{task_id}")
def task_page(request: Request, task_id: DbId, visitor: VisitorDep, session: SessionDep, state: StateDep) -> Response:
    view = tasks.get_task(session, state.executor, visitor.user, task_id)
    project = projects.get_project(session, visitor.user, view.task.project_id)
    version = tasks.task_dataset_version(session, view.task)
    return render(request, "task.html", visitor=visitor, task=view.task, job=view.job.job,
                  queue_position=view.job.queue_position, model_versions=view.model_versions, project=project,
                  dataset_version=version, may_change=projects.may_change(session, visitor.user, project),
                  max_extend=MAX_EXTEND_EPOCHS)
