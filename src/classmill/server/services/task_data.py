"""A dataset version as the training library reads it: a CSV of stored files, labels and splits.

No image is copied: each row names a file of the content-addressed store (relative to the CSV's
folder, as the reader resolves it), and the run confines them with `data_root` = the store. The library's manifest then records each
image with its hash, as for any CSV dataset. Only the task's classes are written; the split
column is written only when every row has a split (the library splits the rest itself, with the
task's val/test fractions and seed, and a partly split CSV would be refused).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classmill import atomic
from classmill.server.db.datasets import DatasetVersion, VersionImage
from classmill.server.store.layout import StoreLayout

TASK_DATA_FOLDER = "task-data"


def class_counts(session: Session, version: DatasetVersion) -> dict[str, int]:
    rows = session.execute(select(VersionImage.label, func.count()).where(VersionImage.version_id == version.id)
                           .group_by(VersionImage.label))
    return {label: count for label, count in rows}


def split_counts(session: Session, version: DatasetVersion, classes: list[str]) -> dict[str | None, int]:
    rows = session.execute(select(VersionImage.split, func.count()).where(
        VersionImage.version_id == version.id, VersionImage.label.in_(classes)).group_by(VersionImage.split))
    return {split: count for split, count in rows}


def write_task_data(session: Session, version: DatasetVersion, classes: list[str], store: StoreLayout,
                    path: Path) -> Path:
    """Write the CSV (atomically) for the images of `classes` in `version`; returns `path`."""
    rows = session.execute(select(VersionImage.content_hash, VersionImage.label, VersionImage.split)
                           .where(VersionImage.version_id == version.id, VersionImage.label.in_(classes))
                           .order_by(VersionImage.content_hash)).all()
    with_split = all(split for _, _, split in rows)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["path", "label", "split"] if with_split else ["path", "label"])
    for content_hash, label, split in rows:
        # relative to the CSV's folder, as the reader resolves it (and confines it to data_root = the store)
        relative = Path(os.path.relpath(store.blobs.path(content_hash), path.parent)).as_posix()
        writer.writerow([relative, label, split] if with_split else [relative, label])
    atomic.write_text(path, text.getvalue())
    return path
