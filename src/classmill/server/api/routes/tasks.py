"""Training tasks: the options a task takes, create one in a project, list, read, control, extend, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.api.training_schemas import Extension, NewTask, TaskOut, TaskSummaryOut
from classmill.server.services import tasks

router = APIRouter(tags=["tasks"])
_NOT_FOUND = {404: {"description": "no such task, or one you cannot see"}}


@router.get("/tasks/options", summary="Every training option: type, default, each preset's value, bounds, help")
def task_options(user: CurrentUser) -> dict:
    from classmill.train.config import PRESETS

    return {"presets": list(PRESETS), "select_metrics": list(tasks.SELECT_METRICS),
            "min_images_per_class": tasks.MIN_IMAGES_PER_CLASS, "options": tasks.task_option_specs()}


@router.post("/projects/{project_id}/tasks", status_code=status.HTTP_201_CREATED,
             summary="Create a training task from a version of the project's dataset; it is queued at once",
             responses={422: {"description": "an option, class choice or class size that cannot be trained"}})
def create_task(project_id: DbId, body: NewTask, user: CurrentUser, session: SessionDep, state: StateDep) -> TaskOut:
    request = tasks.TaskRequest(name=body.name, dataset_version=body.dataset_version, preset=body.preset,
                                classes=body.classes, options=body.options, select_metric=body.select_metric)
    return TaskOut.of(tasks.create_task(session, state.executor, state.layout, user, project_id, request))


@router.get("/projects/{project_id}/tasks", summary="A project's tasks, oldest first (paged)")
def list_tasks(project_id: DbId, user: CurrentUser, session: SessionDep, page: PageDep) -> Page[TaskSummaryOut]:
    found = tasks.list_tasks(session, user, project_id, page)
    return Page(items=[TaskSummaryOut.model_validate(t) for t in found.rows], total=found.total,
                limit=page.limit, offset=page.offset)


@router.get("/tasks/{task_id}", summary="A task with its job (state, progress, queue position) and model versions",
            responses=_NOT_FOUND)
def get_task(task_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> TaskOut:
    return TaskOut.of(tasks.get_task(session, state.executor, user, task_id))


@router.post("/tasks/{task_id}/stop", summary="Stop: a queued task at once, a training one at its next checkpoint")
def stop_task(task_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> TaskOut:
    return TaskOut.of(tasks.control_task(session, state.executor, user, task_id, "stop"))


@router.post("/tasks/{task_id}/pause", summary="Pause: it checkpoints and frees its training slot")
def pause_task(task_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> TaskOut:
    return TaskOut.of(tasks.control_task(session, state.executor, user, task_id, "pause"))


@router.post("/tasks/{task_id}/resume", summary="Resume a paused, stopped, interrupted or failed task from its "
             "last checkpoint")
def resume_task(task_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> TaskOut:
    return TaskOut.of(tasks.control_task(session, state.executor, user, task_id, "resume"))


@router.post("/tasks/{task_id}/extend", summary="Train a finished task N more epochs (a new model version)")
def extend_task(task_id: DbId, body: Extension, user: CurrentUser, session: SessionDep, state: StateDep) -> TaskOut:
    return TaskOut.of(tasks.extend_task(session, state.executor, user, task_id, body.epochs))


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a task that is not running, with its run folder (its model versions stay)")
def delete_task(task_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep) -> Response:
    tasks.delete_task(session, user, task_id, state.settings.workspace)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
