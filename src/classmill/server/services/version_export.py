"""A version as a zip the library reads back: class folders, labels.txt and PaddleClas split lists.

Written file by file into a temp file in the workspace (never whole in memory), then handed to the
route, which streams it and deletes it; an export left by a server that died is removed at the
next start (its name carries the pid of the process writing it). Split lists are written only when
every image has a split: the list reader reads only listed images, so an unsplit image would
vanish on the way back.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from classmill.data.readers.lists import PADDLE_LIST_FILES, labels_to_text
from classmill.server.db.models import User
from classmill.server.services.image_store import stored_path
from classmill.server.processes import process_alive
from classmill.server.services.version_commit import VersionImageRow
from classmill.server.services.versions import get_version, version_rows
from classmill.server.store.layout import StoreLayout

_EXPORT_PREFIX = "export-"


def remove_stale_exports(store: StoreLayout) -> int:
    """At start: delete the exports of processes that are gone (a live one may still be sending its own)."""
    removed = 0
    for path in store.scratch.glob(f"{_EXPORT_PREFIX}*.zip") if store.scratch.is_dir() else ():
        pid = path.name[len(_EXPORT_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def new_export_path(store: StoreLayout) -> Path:
    """An empty temp .zip in the scratch folder, named so the next start removes it if this process dies."""
    store.scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{_EXPORT_PREFIX}{os.getpid()}-", suffix=".zip", dir=store.scratch)
    os.close(fd)
    return Path(name)


def export_version(session: Session, user: User, dataset_id: int, number: int,
                   store: StoreLayout) -> tuple[Path, str]:
    """Write the zip of version `number`; returns (temp file the caller must delete, download name)."""
    dataset, version = get_version(session, user, dataset_id, number)
    rows = version_rows(session, version)
    path = new_export_path(store)
    try:
        _write_zip(path, rows, version.classes, store)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, f"dataset-{dataset.id}-v{version.number}.zip"


def _write_zip(path: Path, rows: dict[str, VersionImageRow], classes: list[str], store: StoreLayout) -> None:
    index = {label: i for i, label in enumerate(classes)}
    names = _entry_names(rows, store)
    lists: dict[str, list[str]] = {split: [] for split in PADDLE_LIST_FILES}
    # Images are already compressed: stored, not deflated, so the export costs I/O only.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for content_hash, row in rows.items():
            archive.write(stored_path(store, content_hash), names[content_hash])
            if row.split:
                lists[row.split].append(f"{names[content_hash]} {index[row.label]}\n")
        archive.writestr("labels.txt", labels_to_text(classes), compress_type=zipfile.ZIP_DEFLATED)
        if rows and all(row.split for row in rows.values()):
            for split, filename in PADDLE_LIST_FILES.items():
                archive.writestr(filename, "".join(lists[split]), compress_type=zipfile.ZIP_DEFLATED)


def _entry_names(rows: dict[str, VersionImageRow], store: StoreLayout) -> dict[str, str]:
    """label/<original file name>, with the hash added where two images of a class share a name."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for content_hash, row in rows.items():
        suffix = stored_path(store, content_hash).suffix
        stem = PurePosixPath(row.original_name.replace("\\", "/")).stem
        if not stem or stem.startswith(".") or stem != stem.strip() or any(ord(c) < 32 for c in stem):
            stem = content_hash
        name = f"{row.label}/{stem}{suffix}"
        if name.lower() in taken:  # case-insensitive file systems would merge them on extraction
            name = f"{row.label}/{stem}-{content_hash[:12]}{suffix}"
        taken.add(name.lower())
        names[content_hash] = name
    return names
