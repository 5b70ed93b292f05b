"""Training tasks: create one in a project from a dataset version, follow, control and delete it.

A task's options come from the library's single option definitions (classmill.train.config):
the preset's values, the overrides given, checked by resolving the same TrainConfig the CLI
resolves, so an invalid value is refused before anything is written, naming the field. The
options that name files (data, data_root) are the server's to set: the task's data is its dataset
version, written as a CSV over the image store (services/task_data.py).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classmill.errors import ConfigError
from classmill.server.db.datasets import DatasetVersion
from classmill.server.db.jobs import Job
from classmill.server.db.models import User
from classmill.server.db.projects import Project
from classmill.server.db.session import writing
from classmill.server.db.training import SELECT_METRICS, ModelVersion, Task
from classmill.server.errors import Conflict, Invalid, NotFound
from classmill.server.jobs.executor import Executor
from classmill.server.jobs.train_job import TRAIN_KIND, run_folder
from classmill.server.services import jobs
from classmill.server.services.access import get_accessible
from classmill.server.services.housekeeping import remove_after_rows
from classmill.server.services.paging import PageOf, PageRequest, fetch_page
from classmill.server.services.projects import clean_name
from classmill.server.services.task_data import TASK_DATA_FOLDER, class_counts, split_counts, write_task_data
from classmill.server.store.layout import StoreLayout

MIN_CLASSES = 2
MIN_IMAGES_PER_CLASS = 20  # as the seed platforms require: fewer cannot be both trained and validated
SERVER_OPTIONS = frozenset({"data", "data_root", "preset"})  # set by the server, never by a request
MAX_EXTEND_EPOCHS = 1000


class InvalidOption(Invalid):
    """An option, class choice or name a task cannot use; `field` names the form field it is about (or "")."""

    def __init__(self, detail: str, fix: str, code: str, field: str = "") -> None:
        super().__init__(detail, fix, code=code)
        self.field = field


@dataclass(frozen=True)
class TaskRequest:
    name: str
    dataset_version: int  # the number of a version of the project's dataset
    preset: str = "balanced"
    classes: list[str] | None = None  # None = every class with images
    options: dict | None = None
    select_metric: str = "top1"


@dataclass(frozen=True)
class TaskView:
    task: Task
    job: jobs.JobView
    model_versions: list[ModelVersion]


def resolve_options(preset: str, options: dict, select_metric: str):
    """The TrainConfig the task will train with; Invalid naming the field when a value cannot be used."""
    from classmill.train.config import option_names, resolve_config

    if select_metric not in SELECT_METRICS:
        raise InvalidOption(f"select_metric {select_metric!r} is not one of {', '.join(SELECT_METRICS)}.",
                            "Pick the validation metric that chooses the best checkpoint from that list.",
                            code="invalid_option", field="select_metric")
    for name in options:
        if name in SERVER_OPTIONS:
            raise InvalidOption(f"option {name!r} is set by the server for a task.",
                                "Leave it out: the task's data is its dataset version.", code="invalid_option",
                                field=name)
    try:
        return resolve_config(preset, **{**options, "select_metric": select_metric, "data": "task.csv"})
    except ConfigError as exc:
        field = _named_field(str(exc), option_names())
        raise InvalidOption(f"{'option ' + repr(field) + ': ' if field else ''}{exc}",
                            "Change that option (GET /api/v1/tasks/options lists each with its default and bounds).",
                            code="invalid_option", field=field or "") from None


def _named_field(message: str, names) -> str | None:
    """The option a library message is about: it names options as CLI flags (--image-size) or field names."""
    for name in sorted(names, key=len, reverse=True):
        if re.search(rf"(--{re.escape(name.replace('_', '-'))}\b|'{re.escape(name)}'|\b{re.escape(name)}\b)", message):
            return name
    return None


def create_task(session: Session, executor: Executor, store: StoreLayout, user: User, project_id: int,
                request: TaskRequest) -> TaskView:
    """Check everything, write the task's data CSV, then commit the task and its queued job, then submit."""
    project = get_accessible(session, user, Project, project_id, write=True)
    name = clean_name(request.name)
    version = _project_version(session, project, request.dataset_version)
    classes = _chosen_classes(session, version, request.classes)
    config = resolve_options(request.preset, dict(request.options or {}), request.select_metric)
    splits = split_counts(session, version, classes)
    has_test = splits.get("test", 0) > 0 if None not in splits else config.test > 0
    workspace = store.workspace
    csv_path = workspace / TASK_DATA_FOLDER / f"{secrets.token_hex(8)}.csv"
    write_task_data(session, version, classes, store, csv_path)
    options = dict(request.options or {})
    try:
        with writing(session, lock_name=f"project-{project.id}-tasks"):
            number = (session.scalar(select(func.max(Task.number)).where(Task.project_id == project.id)) or 0) + 1
            job = Job(kind=TRAIN_KIND, attempt=jobs.new_attempt(), owner_id=user.id, dataset_id=project.dataset_id,
                      params={}, state="queued", progress_phase="queued")
            session.add(job)
            session.flush()
            task = Task(project_id=project.id, number=number, name=name, author_id=user.id,
                        dataset_version_id=version.id, classes=classes, preset=request.preset, options=options,
                        config={k: v for k, v in config.to_dict().items() if k not in SERVER_OPTIONS},
                        job_id=job.id)
            session.add(task)
            session.flush()
            job.params = {"run": f"task-{task.id}", "task_id": task.id, "preset": request.preset,
                          # relative to the workspace, so a restored workspace elsewhere still names them
                          "options": {**options, "select_metric": request.select_metric,
                                      "data": csv_path.relative_to(workspace).as_posix(),
                                      "data_root": store.images.relative_to(workspace).as_posix()},
                          "splits": ["val", "test"] if has_test else ["val"]}
    except BaseException:
        csv_path.unlink(missing_ok=True)
        raise
    executor.submit(job.id, job.attempt, job.kind)
    return get_task(session, executor, user, task.id)


def _project_version(session: Session, project: Project, number: int) -> DatasetVersion:
    version = session.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == project.dataset_id,
                                                          DatasetVersion.number == number))
    if version is None:
        raise NotFound(f"the project's dataset {project.dataset_id} has no version {number}.",
                       f"List its versions: GET /api/v1/datasets/{project.dataset_id}/versions.",
                       code="version_not_found")
    return version


def _chosen_classes(session: Session, version: DatasetVersion, wanted: list[str] | None) -> list[str]:
    counts = class_counts(session, version)
    if wanted is None:
        chosen = [c for c in version.classes if counts.get(c, 0) > 0]
    else:
        unknown = [c for c in wanted if c not in version.classes]
        if unknown:
            raise InvalidOption(f"classes {', '.join(map(repr, unknown))} are not in version {version.number}.",
                                f"Choose among: {', '.join(version.classes)}.", code="unknown_class", field="classes")
        if len(set(wanted)) != len(wanted):
            raise InvalidOption("a class is named twice in classes.", "Name each class once.",
                                code="invalid_classes", field="classes")
        chosen = [c for c in version.classes if c in wanted]  # the version's order: stable class ids
    if len(chosen) < MIN_CLASSES:
        raise InvalidOption(f"a task needs at least {MIN_CLASSES} classes with images; {len(chosen)} chosen.",
                            "Choose two or more classes, or add images to the dataset first.",
                            code="too_few_classes", field="classes")
    small = {c: counts.get(c, 0) for c in chosen if counts.get(c, 0) < MIN_IMAGES_PER_CLASS}
    if small:
        listed = ", ".join(f"{c!r} has {n}" for c, n in small.items())
        raise InvalidOption(f"every class needs at least {MIN_IMAGES_PER_CLASS} images: {listed}.",
                            "Add images to those classes (a new dataset version), or leave them out of the task.",
                            code="too_few_images", field="classes")
    return chosen


def get_task(session: Session, executor: Executor, user: User, task_id: int, *, write: bool = False) -> TaskView:
    task = _task(session, user, task_id, write=write)
    job = session.get(Job, task.job_id, populate_existing=True)
    versions = list(session.scalars(select(ModelVersion).where(ModelVersion.task_id == task.id)
                                    .order_by(ModelVersion.number)))
    return TaskView(task, jobs.JobView(job, jobs.queue_position(executor, job)), versions)


def _task(session: Session, user: User, task_id: int, *, write: bool = False) -> Task:
    task = session.get(Task, task_id, populate_existing=True)
    if task is None:
        raise NotFound(f"there is no task {task_id}.", "List a project's tasks: GET /api/v1/projects/{id}/tasks.",
                       code="task_not_found")
    try:
        get_accessible(session, user, Project, task.project_id, write=write)
    except NotFound:
        raise NotFound(f"there is no task {task_id}.", "List a project's tasks: GET /api/v1/projects/{id}/tasks.",
                       code="task_not_found") from None
    return task


def task_option_specs() -> list[dict]:
    """Every option a task request may set (type, default, each preset's value, bounds, help): the server's own left out."""
    from classmill.train.config import option_specs

    return [spec for spec in option_specs() if spec["name"] not in SERVER_OPTIONS]


def version_class_counts(session: Session, user: User, project_id: int, number: int) -> tuple[DatasetVersion, dict[str, int]]:
    """Version `number` of the project's dataset and its images per class (every class of the version, 0 for none)."""
    project = get_accessible(session, user, Project, project_id)
    version = _project_version(session, project, number)
    counts = class_counts(session, version)
    return version, {c: counts.get(c, 0) for c in version.classes}


def task_jobs(session: Session, rows: list[Task]) -> dict[int, Job]:
    """The jobs of these (already authorised) tasks, by task id, in one query."""
    by_id = {job.id: job for job in session.scalars(select(Job).where(Job.id.in_([t.job_id for t in rows])))}
    return {task.id: by_id[task.job_id] for task in rows if task.job_id in by_id}


def list_tasks(session: Session, user: User, project_id: int, page: PageRequest) -> PageOf[Task]:
    get_accessible(session, user, Project, project_id)
    return fetch_page(session, select(Task).where(Task.project_id == project_id).order_by(Task.number), page)


def control_task(session: Session, executor: Executor, user: User, task_id: int, action: str) -> TaskView:
    """stop | pause | resume the task's job (write access to the project)."""
    task = _task(session, user, task_id, write=True)
    job = session.get(Job, task.job_id, populate_existing=True)
    if action == "resume":
        jobs.requeue(session, executor, job)
    else:
        jobs.request_end(session, executor, job, action)
    return get_task(session, executor, user, task_id)


def extend_task(session: Session, executor: Executor, user: User, task_id: int, epochs: int) -> TaskView:
    """Train a finished task `epochs` more epochs; its next model version continues the last one."""
    if not 1 <= epochs <= MAX_EXTEND_EPOCHS:
        raise Invalid(f"epochs={epochs} cannot extend a task.", f"Give 1 to {MAX_EXTEND_EPOCHS} more epochs.",
                      code="invalid_option")
    task = _task(session, user, task_id, write=True)
    job = session.get(Job, task.job_id, populate_existing=True)
    if job.state != "succeeded":
        raise Conflict(f"task {task_id} is {job.state}; only a finished task can be extended.",
                       "Resume it (or wait for it) to finish first.", code="task_not_finished")
    done = (job.result or {}).get("epochs_completed", 0)
    # A target, not an increment: an attempt that crashes after extending must not extend twice.
    jobs.requeue(session, executor, job, params={**job.params, "extend_to_epochs": int(done) + epochs},
                 from_states=("succeeded",))
    return get_task(session, executor, user, task_id)


def delete_task(session: Session, user: User, task_id: int, workspace: Path) -> None:
    """Delete a task that is not queued or running, with its run folder; its model versions stay."""
    task = _task(session, user, task_id, write=True)
    with writing(session):
        task = session.get(Task, task_id, populate_existing=True)
        job = session.get(Job, task.job_id, populate_existing=True)
        if job.state in ("queued", "running"):
            raise Conflict(f"task {task_id} is {job.state}.", "Stop it first, then delete it.", code="task_active")
        params = dict(job.params)
        session.delete(task)
        session.flush()
        session.delete(job)
    # The files go after the rows: a crash in between leaves files no row names (housekeeping's), never a
    # row naming missing files.
    files = [run_folder(workspace, params)]
    data = params.get("options", {}).get("data")
    if data and Path(data).parent == Path(TASK_DATA_FOLDER):
        files.append(workspace / data)
    remove_after_rows(workspace, files)


def task_dataset_version(session: Session, task: Task) -> DatasetVersion | None:
    """The dataset version an (already authorised) task trains on."""
    return session.get(DatasetVersion, task.dataset_version_id)


def project_dataset_versions(session: Session, user: User, project_id: int, limit: int) -> list[DatasetVersion]:
    """The newest versions of the project's dataset, for whoever may read the project (a task trains on any)."""
    project = get_accessible(session, user, Project, project_id)
    return list(session.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == project.dataset_id)
                                .order_by(DatasetVersion.number.desc()).limit(limit)))
