"""Model versions for server tests without training: a ModelVersion row whose model.cmb is the colour
bundle (support/colour_bundle.py: it answers the dominant colour of the image's top half)."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classmill.server.db.datasets import DatasetVersion
from classmill.server.db.projects import Project
from classmill.server.db.session import writing
from classmill.server.db.training import ModelVersion
from support.colour_bundle import COLOUR_LABELS, build_colour_bundle


def add_model_version(session: Session, workspace: Path, project_id: int, *, bundle: Path | None = None,
                      thresholds: dict[str, float] | None = None) -> ModelVersion:
    """Version n+1 of the project, on its dataset's newest version. bundle: a colour bundle to copy
    (building one takes a few seconds of torch export); thresholds: its deployed thresholds."""
    folder = Path(workspace) / "models" / f"test-{secrets.token_hex(6)}"
    folder.mkdir(parents=True)
    if bundle is not None:
        shutil.copyfile(bundle, folder / "model.cmb")
    else:
        build_colour_bundle(folder / "model.cmb")
    project = session.get(Project, project_id)
    with writing(session):
        dataset_version = session.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == project.dataset_id)
                                         .order_by(DatasetVersion.number.desc()).limit(1))
        number = (session.scalar(select(func.max(ModelVersion.number))
                                 .where(ModelVersion.project_id == project_id)) or 0) + 1
        version = ModelVersion(project_id=project_id, number=number, task_name="colour", epochs=1,
                               dataset_version_id=dataset_version.id, classes=list(COLOUR_LABELS),
                               folder=folder.relative_to(workspace).as_posix(),
                               suggested_thresholds=dict(thresholds or {}), thresholds=dict(thresholds or {}),
                               size_bytes=(folder / "model.cmb").stat().st_size)
        session.add(version)
    return version
