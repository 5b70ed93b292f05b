"""Edits of a dataset version. Each makes a new immutable version (parent = the edited one) via commit_version.

Every input is checked before anything is written: label names by the library's rule, hashes
against the version they must come from (422 naming them), edits that change nothing (422).
Splitting is the library's stable split (classmill.data.assign_splits), never a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlalchemy.orm import Session

from classmill.data import Dataset as LibraryDataset
from classmill.data import ImageRecord, assign_splits
from classmill.data.labels import label_name_problem
from classmill.errors import ConfigError
from classmill.server.db.datasets import SPLITS, DatasetVersion
from classmill.server.db.models import User
from classmill.server.db.session import writing
from classmill.server.errors import Conflict, Invalid
from classmill.server.services.image_store import STORE_LOCK, ImageFile, ensure_stored
from classmill.server.services.version_commit import VersionImageRow, commit_version, version_lock_name
from classmill.server.services.versions import get_version, version_rows
from classmill.server.store.layout import StoreLayout

_NAMED = 10  # hashes named in an error before "and n more"
_KEEP = object()  # split settings: carry the parent's when every image still has a split


@dataclass
class Change:
    rows: dict[str, VersionImageRow]
    classes: list[str]
    summary: str
    split_settings: object = _KEEP
    split_problems: tuple = ()
    new_files: tuple[ImageFile, ...] = ()  # images new to the store (put in the version's own transaction)
    report_of: DatasetVersion | None = None  # whose files the version holds, for its check report (None: the base's)


def _commit_change(session: Session, user: User, dataset_id: int, number: int,
                   make: Callable[[DatasetVersion, dict[str, VersionImageRow]], Change],
                   layout: StoreLayout | None = None) -> DatasetVersion:
    dataset, base = get_version(session, user, dataset_id, number, write=True)
    change = make(base, version_rows(session, base))
    split_settings = change.split_settings
    if split_settings is _KEEP:
        every_split = all(r.split for r in change.rows.values())
        split_settings = base.split_settings if every_split else None
    # The parent's check report describes the parent's files; it is kept, marked as inherited. A restore
    # holds another version's files and splits again, so it takes that version's report, split problems too.
    origin, restoring = change.report_of or base, change.report_of is not None
    report = {**{k: v for k, v in origin.check_report.items() if k != "split_problems" or restoring},
              "inherited_from_version": origin.check_report.get("inherited_from_version", origin.number)}
    if change.split_problems:
        report["split_problems"] = [p.to_dict() for p in change.split_problems]
    # New files go in under the store lock, re-put if a garbage collection took them (image_store.py).
    with writing(session, STORE_LOCK if change.new_files else version_lock_name(dataset.id)):
        if change.new_files:
            ensure_stored(session, layout, list(change.new_files))
        return commit_version(session, dataset, base, user, list(change.rows.values()), change.classes,
                              change.summary, report, split_settings)


def _named(hashes: list[str]) -> str:
    more = f" and {len(hashes) - _NAMED} more" if len(hashes) > _NAMED else ""
    return ", ".join(hashes[:_NAMED]) + more


def _require_hashes(hashes: list[str], rows: dict[str, VersionImageRow], where: str) -> None:
    if not hashes:
        raise Invalid("the edit names no images.", "Send at least one image hash.", code="empty_edit")
    missing = [h for h in dict.fromkeys(hashes) if h not in rows]
    if missing:
        raise Invalid(f"{len(missing)} image(s) are not in {where}: {_named(missing)}.",
                      "Use hashes listed by that version's gallery.", code="unknown_images")


def _require_label_name(name: str) -> None:
    problem = label_name_problem(name)
    if problem:
        raise Invalid(f"label {name!r} {problem}.", "Choose a class name that can also be a folder name.",
                      code="bad_label")


def _require_class(name: str, classes: list[str], number: int) -> None:
    if name not in classes:
        raise Invalid(f"version {number} has no class {name!r}.",
                      f"Use one of {classes}, or add the class first.", code="unknown_class")


def change_images(session: Session, user: User, dataset_id: int, number: int, *, delete: list[str],
                  relabel: list[tuple[list[str], str]], move: list[tuple[list[str], str | None]] = (),
                  new_classes: list[str] = ()) -> DatasetVersion:
    """Delete images, relabel others (relabel: [(hashes, label)]) and move others to a split (move:
    [(hashes, "train" | "val" | "test" | None)]) in one new version; `new_classes` are added to it first,
    so images can be relabelled into a class that did not exist."""
    def make(base: DatasetVersion, rows: dict[str, VersionImageRow]) -> Change:
        if not delete and not relabel and not move:
            raise Invalid("the edit changes nothing.", "Name images to delete, relabel or move.", code="empty_edit")
        where = f"version {base.number}"
        classes = list(base.classes)
        for name in dict.fromkeys(new_classes):
            _require_label_name(name)
            if name in classes:
                raise Invalid(f"version {base.number} already has class {name!r}.",
                              "Relabel the images into it instead, or choose another name.", code="class_exists")
            classes.append(name)
        if delete:
            _require_hashes(delete, rows, where)
        new_labels: dict[str, str] = {}
        for hashes, label in relabel:
            _require_hashes(hashes, rows, where)
            _require_label_name(label)
            _require_class(label, classes, base.number)
            new_labels.update(dict.fromkeys(hashes, label))
        new_splits: dict[str, str | None] = {}
        for hashes, split in move:
            _require_hashes(hashes, rows, where)
            if split not in (*SPLITS, None):
                raise Invalid(f"split {split!r} is not train, val or test.",
                              "Move images to train, val or test, or out of every split.", code="bad_split")
            new_splits.update(dict.fromkeys(hashes, split))
        both = sorted(set(delete) & (set(new_labels) | set(new_splits)))
        if both:
            raise Invalid(f"{len(both)} image(s) are both deleted and changed: {_named(both)}.",
                          "Name each deleted image in no other change.", code="conflicting_edit")
        relabelled = {h: label for h, label in new_labels.items() if rows[h].label != label}
        moved = {h: split for h, split in new_splits.items() if rows[h].split != split}
        if not delete and not relabelled and not moved:
            raise Invalid("every image named already has that label and split.", "Choose another label or split.",
                          code="empty_edit")
        gone = set(delete)
        out = {h: r._replace(label=relabelled.get(h, r.label), split=moved.get(h, r.split))
               for h, r in rows.items() if h not in gone}
        parts = ([f"added class(es) {', '.join(repr(c) for c in dict.fromkeys(new_classes))}"] if new_classes else []) + (
            [f"deleted {len(gone)} image(s)"] if gone else []) + (
            [f"relabelled {len(relabelled)} image(s) to {', '.join(repr(x) for x in sorted(set(relabelled.values())))}"]
            if relabelled else []) + (
            [f"moved {len(moved)} image(s) to {', '.join(sorted({s or 'no split' for s in moved.values()}))}"]
            if moved else [])
        return Change(out, classes, "; ".join(parts))
    return _commit_change(session, user, dataset_id, number, make)


def add_images(session: Session, user: User, dataset_id: int, number: int, *, source_dataset_id: int,
               source_number: int, hashes: list[str], label: str) -> DatasetVersion:
    """Add images already stored in a version the user can read (another dataset's too) into class `label`."""
    _, source = get_version(session, user, source_dataset_id, source_number)
    source_rows = version_rows(session, source)

    def make(base: DatasetVersion, rows: dict[str, VersionImageRow]) -> Change:
        _require_hashes(hashes, source_rows, f"version {source_number} of dataset {source_dataset_id}")
        _require_class(label, base.classes, base.number)
        present = [h for h in dict.fromkeys(hashes) if h in rows]
        if present:
            raise Invalid(f"{len(present)} image(s) are already in version {base.number}: {_named(present)}.",
                          "Relabel them instead, or leave them out.", code="images_present")
        out = dict(rows)
        for h in dict.fromkeys(hashes):
            src = source_rows[h]
            out[h] = VersionImageRow(h, label, None, src.original_name, list(src.problems))
        return Change(out, list(base.classes), f"added {len(hashes)} image(s) to {label!r}")
    return _commit_change(session, user, dataset_id, number, make)


def add_new_image(session: Session, layout: StoreLayout, user: User, dataset_id: int, number: int, *,
                  image: ImageFile, label: str, split: str | None, original_name: str,
                  problems: list[str]) -> DatasetVersion:
    """Add one image new to the store (a tested picture) into `label`: a class of the version, or a new
    class named by the label rule. An image the version holds under another label is relabelled."""
    _require_label_name(label)

    def make(base: DatasetVersion, rows: dict[str, VersionImageRow]) -> Change:
        held = rows.get(image.content_hash)
        if held is not None and held.label == label and (split is None or held.split == split):
            raise Invalid(f"version {base.number} already holds this image as {label!r}.",
                          "Choose another label to correct it, or leave it as it is.", code="images_present")
        out = dict(rows)
        kept_split = split if split is not None else (held.split if held is not None else None)
        if held is None:
            out[image.content_hash] = VersionImageRow(image.content_hash, label, kept_split, original_name[:1000],
                                                      list(problems))
        else:  # the image keeps the name and check results it joined the dataset with
            out[image.content_hash] = held._replace(label=label, split=kept_split)
        classes = list(base.classes) + ([label] if label not in base.classes else [])
        if held is None:
            summary = f"added a tested image to {label!r}"
        elif held.label != label:
            summary = f"relabelled a tested image from {held.label!r} to {label!r}"
        else:
            summary = f"moved a tested image of {label!r} to {split}"
        if label not in base.classes:
            summary += " (a new class)"
        return Change(out, classes, summary, new_files=(image,))
    return _commit_change(session, user, dataset_id, number, make, layout)


def add_class(session: Session, user: User, dataset_id: int, number: int, name: str) -> DatasetVersion:
    def make(base: DatasetVersion, rows: dict[str, VersionImageRow]) -> Change:
        _require_label_name(name)
        if name in base.classes:
            raise Invalid(f"version {base.number} already has class {name!r}.", "Choose another name.",
                          code="class_exists")
        return Change(rows, [*base.classes, name], f"added class {name!r}")
    return _commit_change(session, user, dataset_id, number, make)


def rename_class(session: Session, user: User, dataset_id: int, number: int, name: str,
                 new_name: str) -> DatasetVersion:
    def make(base: DatasetVersion, rows: dict[str, VersionImageRow]) -> Change:
        _require_class(name, base.classes, base.number)
        _require_label_name(new_name)
        if new_name in base.classes:
            raise Invalid(f"version {base.number} already has class {new_name!r}.",
                          "Relabel its images instead to merge two classes, or choose another name.",
                          code="class_exists")
        out = {h: (r._replace(label=new_name) if r.label == name else r) for h, r in rows.items()}
        classes = [new_name if c == name else c for c in base.classes]
        return Change(out, classes, f"renamed class {name!r} to {new_name!r}")
    return _commit_change(session, user, dataset_id, number, make)


def delete_class(session: Session, user: User, dataset_id: int, number: int, name: str, *,
                 delete_images: bool) -> DatasetVersion:
    """Refused (409) while the class has images, unless delete_images says to delete them with it."""
    def make(base: DatasetVersion, rows: dict[str, VersionImageRow]) -> Change:
        _require_class(name, base.classes, base.number)
        held = [h for h, r in rows.items() if r.label == name]
        if held and not delete_images:
            raise Conflict(f"class {name!r} has {len(held)} image(s) in version {base.number}.",
                           "Relabel them first, or delete them with the class (delete_images: true).",
                           code="class_not_empty")
        out = {h: r for h, r in rows.items() if r.label != name}
        summary = f"deleted class {name!r}" + (f" and its {len(held)} image(s)" if held else "")
        return Change(out, [c for c in base.classes if c != name], summary)
    return _commit_change(session, user, dataset_id, number, make)


def apply_split(session: Session, user: User, dataset_id: int, number: int, *, val: float, test: float,
                seed: int) -> DatasetVersion:
    """Split train/val/test with the library's stable split; with the same settings, placed images stay put."""
    def make(base: DatasetVersion, rows: dict[str, VersionImageRow]) -> Change:
        if not rows:
            raise Invalid(f"version {base.number} has no images to split.", "Add images first.", code="empty_edit")
        settings = {"val": val, "test": test, "seed": seed}
        previous = {h: r.split for h, r in rows.items() if r.split} if base.split_settings == settings else {}
        records = [ImageRecord(path=Path(h), ref=r.original_name, label=r.label, content_hash=h)
                   for h, r in rows.items()]
        try:
            result = assign_splits(LibraryDataset(source=f"version {base.number}", kind="server",
                                                  classes=list(base.classes), records=records),
                                   val, test, seed, previous)
        except ConfigError as exc:
            raise Invalid(str(exc), "Give val and test in [0, 1) with val + test < 1.", code="bad_split") from None
        placed = {r.content_hash: r.split for r in result.dataset.records}
        out = {h: r._replace(split=placed[h]) for h, r in rows.items()}
        counts = {s: sum(1 for x in placed.values() if x == s) for s in ("train", "val", "test")}
        summary = f"split val={val} test={test} seed={seed}: " + ", ".join(f"{n} {s}" for s, n in counts.items())
        return Change(out, list(base.classes), summary, settings, tuple(result.problems))
    return _commit_change(session, user, dataset_id, number, make)


def merge_version(session: Session, user: User, dataset_id: int, number: int, *, source_dataset_id: int,
                  source_number: int) -> DatasetVersion:
    """Add every image and class of another version the user can read; images already here keep their label."""
    _, source = get_version(session, user, source_dataset_id, source_number)
    source_rows = version_rows(session, source)

    def make(base: DatasetVersion, rows: dict[str, VersionImageRow]) -> Change:
        new = [h for h in source_rows if h not in rows]
        new_classes = [c for c in source.classes if c not in base.classes]
        if not new and not new_classes:
            raise Invalid(f"version {source_number} of dataset {source_dataset_id} adds nothing to version "
                          f"{base.number}.", "Merge a version with other images or classes.", code="empty_edit")
        out = dict(rows)
        for h in new:  # their splits were made for the other dataset: re-split after merging
            out[h] = source_rows[h]._replace(split=None)
        summary = (f"merged version {source_number} of dataset {source_dataset_id}: {len(new)} image(s), "
                   f"{len(new_classes)} new class(es)")
        return Change(out, [*base.classes, *new_classes], summary)
    return _commit_change(session, user, dataset_id, number, make)


def restore_version(session: Session, user: User, dataset_id: int, number: int, *,
                    from_number: int) -> DatasetVersion:
    """A new version (parent `number`) whose images, labels, splits and classes are version `from_number`'s:
    the undo of every edit between them, with nothing taken out of the history."""
    _, source = get_version(session, user, dataset_id, from_number)
    source_rows = version_rows(session, source)

    def make(base: DatasetVersion, rows: dict[str, VersionImageRow]) -> Change:
        placed = {h: (r.label, r.split) for h, r in rows.items()}
        if placed == {h: (r.label, r.split) for h, r in source_rows.items()} and base.classes == source.classes:
            raise Invalid(f"version {base.number} already has the images, labels, splits and classes of version "
                          f"{from_number}.", "Restore a version that differs from it, or leave it as it is.",
                          code="nothing_to_restore")
        return Change(dict(source_rows), list(source.classes), f"restored version {from_number}",
                      source.split_settings, report_of=source)
    return _commit_change(session, user, dataset_id, number, make)
