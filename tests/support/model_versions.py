"""Model versions made by hand: a folder with predictions.json and the row, without training (exact numbers)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classmill.server.db.session import writing
from classmill.server.db.training import ModelVersion

Row = tuple[str, str, list[float]]  # (content hash, true label, probabilities in class order)


def write_predictions(folder: Path, split: str, classes: list[str], rows: list[Row]) -> None:
    path = folder / "report" / split / "predictions.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"classes": classes, "images": [{"hash": h, "label": label, "probs": probs}
                                                               for h, label, probs in rows]}))


def make_model_version(session: Session, workspace: Path, project_id: int, dataset_version_id: int,
                       classes: list[str], rows: list[Row], *, thresholds: dict | None = None,
                       suggested: dict | None = None, metrics: dict | None = None,
                       config: dict | None = None) -> ModelVersion:
    """A version of `project_id` whose val predictions are `rows` (no task: its run is 'gone')."""
    folder = workspace / "models" / f"hand-{secrets.token_hex(4)}"
    write_predictions(folder, "val", classes, rows)
    with writing(session):
        number = (session.scalar(select(func.max(ModelVersion.number))
                                 .where(ModelVersion.project_id == project_id)) or 0) + 1
        version = ModelVersion(project_id=project_id, number=number, task_id=None, task_name="by hand",
                               dataset_version_id=dataset_version_id, epochs=1, classes=classes,
                               config=config or {}, metrics=metrics or {"val": {}},
                               folder=folder.relative_to(workspace).as_posix(),
                               suggested_thresholds=suggested or {c: 0.0 for c in classes},
                               thresholds=thresholds or {c: 0.0 for c in classes}, size_bytes=0)
        session.add(version)
    return version
