"""The new-task page: dataset version, classes, preset, selection metric and advanced options; it creates the
task through the same service as POST /api/v1/projects/{id}/tasks and goes to the task's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from classmill.errors import UserError
from classmill.server.api.deps import SessionDep, StateDep
from classmill.server.api.numbers import DbId
from classmill.server.api.training_schemas import NewTask
from classmill.server.errors import NotFound
from classmill.server.db.projects import Project
from classmill.server.services import tasks
from classmill.server.services.access import get_accessible
from classmill.server.services.paging import PageRequest
from classmill.server.services.preset_times import preset_times_file, read_preset_times
from classmill.server.web.flash import flash
from classmill.server.web.forms import PageError, error_status, form_body, page_error
from classmill.server.web.option_texts import OPTION_HELP
from classmill.server.web.rendering import render
from classmill.server.web.routes.task_forms import advanced_specs, field_text, read_options
from classmill.server.web.routing import PageRoute
from classmill.server.web.visitors import PostingVisitor, Visitor, VisitorDep

router = APIRouter(prefix="/projects/{project_id}/tasks", route_class=PageRoute, include_in_schema=False)
VERSION_CHOICES = 100  # the newest versions offered
DEFAULT_PRESET = "balanced"  # the API's default too (NewTask)
PRESET_FACTS = ("model", "image_size", "epochs", "head_warmup_steps")  # what a preset card lists of its values


@router.get("/new")
def new_task_page(request: Request, project_id: DbId, visitor: VisitorDep, session: SessionDep, state: StateDep,
                  version: DbId | None = None) -> Response:
    return _new_task_page(request, visitor, session, state, project_id, version)


@router.get("/new/classes")
def class_choices(request: Request, project_id: DbId, visitor: VisitorDep, session: SessionDep,
                  dataset_version: DbId) -> Response:
    """The class checkboxes of one dataset version (htmx swaps them in when the version changes)."""
    _, counts = tasks.version_class_counts(session, visitor.user, project_id, dataset_version)
    return render(request, "_task_classes.html", visitor=visitor, counts=counts, checked=None,
                  min_images=tasks.MIN_IMAGES_PER_CLASS, field_errors={})


@router.post("")
async def create_task(request: Request, project_id: DbId, visitor: PostingVisitor, session: SessionDep,
                      state: StateDep) -> Response:
    form = await request.form()
    specs = tasks.task_option_specs()
    preset = str(form.get("preset", DEFAULT_PRESET))
    options = read_options(specs, form, preset)
    entered = {"name": str(form.get("name", "")), "preset": preset,
               "select_metric": str(form.get("select_metric", "top1")),
               "classes": [str(c) for c in form.getlist("classes")], "options": options.values}
    version_text = str(form.get("dataset_version", ""))
    if options.errors:
        return _new_task_page(request, visitor, session, state, project_id, _number(version_text), status=422,
                              entered=entered, type_errors=options.errors)
    try:
        body = form_body(NewTask, name=entered["name"], dataset_version=version_text, preset=preset,
                         classes=entered["classes"], options=options.overrides,
                         select_metric=entered["select_metric"])
        made = tasks.create_task(session, state.executor, state.layout, visitor.user, project_id, tasks.TaskRequest(
            name=body.name, dataset_version=body.dataset_version, preset=body.preset, classes=body.classes,
            options=body.options, select_metric=body.select_metric))
    except UserError as exc:
        return _new_task_page(request, visitor, session, state, project_id, _number(version_text),
                              status=error_status(exc), entered=entered, error=page_error(exc),
                              error_field=_field_of(exc))
    response = RedirectResponse(f"/tasks/{made.task.id}", status_code=303)
    flash(response, "task_created", name=made.task.name)
    return response


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def _field_of(exc: UserError) -> str:
    """The form field a refusal is about: the option the service named, or the task's name."""
    field = getattr(exc, "field", "") or ("name" if getattr(exc, "code", "") == "invalid_name" else "")
    return field


def _new_task_page(request: Request, visitor: Visitor, session, state, project_id: int, number: int | None, *,
                   status: int = 200, entered: dict | None = None, error: PageError | None = None,
                   error_field: str = "", type_errors: dict | None = None) -> Response:
    # a read-only share gets the service's own 403 here, not a form it cannot send
    project = get_accessible(session, visitor.user, Project, project_id, write=True)
    choices = tasks.project_dataset_versions(session, visitor.user, project_id, VERSION_CHOICES)
    if not choices:
        raise NotFound("the project's dataset has no images yet, so there is nothing to train on.",
                       "Import images into the dataset first, then create the task.", code="no_dataset_version")
    if number is None or all(v.number != number for v in choices):
        number = choices[0].number
    _, counts = tasks.version_class_counts(session, visitor.user, project_id, number)
    specs = tasks.task_option_specs()
    presets = list(advanced_specs(specs)[0]["preset_defaults"])
    entered = entered or {}
    preset = entered.get("preset") if entered.get("preset") in presets else DEFAULT_PRESET
    shown = {spec["name"]: field_text(spec["preset_defaults"].get(preset, spec["default"])) for spec in specs}
    shown.update(entered.get("options", {}))
    field_errors = {error_field: error.detail} if error and error_field else {}
    next_number = tasks.list_tasks(session, visitor.user, project_id, PageRequest(limit=1, offset=0)).total + 1
    return render(request, "task_new.html", visitor=visitor, status=status, project=project, versions=choices,
                  number=number, counts=counts, checked=entered.get("classes"), min_images=tasks.MIN_IMAGES_PER_CLASS,
                  specs=advanced_specs(specs), option_help=OPTION_HELP, presets=presets,
                  preset_facts={p: {s["name"]: s["preset_defaults"][p] for s in specs if s["name"] in PRESET_FACTS}
                                for p in presets}, preset=preset, shown=shown,
                  select_metrics=tasks.SELECT_METRICS, select_metric=entered.get("select_metric", "top1"),
                  name=entered.get("name", ""), next_number=next_number, error=error, field_errors=field_errors,
                  type_errors=type_errors or {},
                  preset_times=read_preset_times(preset_times_file(state.settings)))
