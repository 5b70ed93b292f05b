"""Model versions for the server tests without training: a row whose folder holds a known bundle."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classmill.server.db.datasets import DatasetVersion
from classmill.server.db.projects import Project
from classmill.server.db.session import writing
from classmill.server.db.training import ModelVersion
from classmill.server.jobs.model_build import BUNDLE_NAME, MODELS_FOLDER
from support.colour_bundle import COLOUR_LABELS, build_colour_bundle


def add_model_version(session: Session, workspace: Path, project_id: int, bundle: Path | None = None, *,
                      thresholds: dict[str, float] | None = None) -> ModelVersion:
    """Version n+1 of the project, on its dataset's newest version, serving `bundle` (default: a fresh
    colour bundle, see support/colour_bundle.py) as model.cmb; files first, then the row, as a job does."""
    folder = Path(workspace) / MODELS_FOLDER / f"test-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    if bundle is None:
        build_colour_bundle(folder / BUNDLE_NAME)
    else:
        shutil.copyfile(bundle, folder / BUNDLE_NAME)
    with writing(session):
        project = session.get(Project, project_id)
        dataset_version = session.scalar(select(DatasetVersion.id)
                                         .where(DatasetVersion.dataset_id == project.dataset_id)
                                         .order_by(DatasetVersion.number.desc()).limit(1))
        number = (session.scalar(select(func.max(ModelVersion.number))
                                 .where(ModelVersion.project_id == project_id)) or 0) + 1
        version = ModelVersion(project_id=project_id, number=number, task_id=None, task_name="colour test",
                               dataset_version_id=dataset_version, epochs=1, classes=list(COLOUR_LABELS), config={},
                               metrics={}, folder=folder.relative_to(workspace).as_posix(),
                               suggested_thresholds=dict(thresholds or {}), thresholds=dict(thresholds or {}),
                               size_bytes=(folder / BUNDLE_NAME).stat().st_size)
        session.add(version)
        session.flush()
    return version
