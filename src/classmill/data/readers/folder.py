"""Folder-per-class reader: `root/<label>/<image>`, optionally `root/{train,val,test}/<label>/<image>`."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from classmill.data.ignore import is_ignored
from classmill.data.readers.confine import PathOutsideRoot, confine, outside_root_problem
from classmill.data.records import ERROR, WARNING, Candidate, Problem, ReadResult

_LINK_FIX = "Copy the real image into the dataset folder instead of linking to it."

# Folder names that mean "this level is a split, the class folders are below it".
SPLIT_FOLDER_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


def _visible_subdirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not is_ignored((p.name,)))


def read_folder(root: Path) -> ReadResult:
    root = root.resolve()
    result = ReadResult(source=str(root), kind="folder")
    top = _visible_subdirs(root)
    split_layout = bool(top) and all(p.name.lower() in SPLIT_FOLDER_NAMES for p in top)
    if split_layout:
        result.kind = "folder-splits"
        for split_dir in top:
            _read_class_folders(root, split_dir, SPLIT_FOLDER_NAMES[split_dir.name.lower()], result)
    else:
        _read_class_folders(root, root, None, result)
    result.candidates.sort(key=lambda c: c.ref)
    return result


def _read_class_folders(root: Path, class_root: Path, split: str | None, result: ReadResult) -> None:
    nested_files: Counter[tuple[str, str]] = Counter()
    for dirpath, dirnames, filenames in os.walk(class_root, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(class_root).parts
        if is_ignored(rel_dir):
            result.ignored.extend(str((here / f).relative_to(root)) for f in filenames)
            dirnames.clear()
            continue
        if len(rel_dir) == 1 and rel_dir[0] not in result.declared_labels:
            result.declared_labels.append(rel_dir[0])
        for d in list(dirnames):
            link = here / d
            if link.is_symlink():
                dirnames.remove(d)  # never follow: a link can loop or leave the dataset
                _report_symlink(root, link, result)
        for name in sorted(filenames):
            path = here / name
            ref = str(path.relative_to(root))
            parts = rel_dir + (name,)
            if is_ignored(parts):
                result.ignored.append(ref)
                continue
            if path.is_symlink():
                try:
                    target = confine(root, ref)
                except PathOutsideRoot as exc:
                    result.problems.append(outside_root_problem(ref, ref, exc.reason, _LINK_FIX))
                    continue
                if not target.is_file():
                    result.problems.append(Problem(
                        "broken_symlink", ERROR, f"{ref} is a link to a missing file",
                        "Replace the link with the image itself or delete it.", file=ref))
                    continue
            if len(parts) == 1:
                result.problems.append(Problem(
                    "not_in_class_folder", WARNING,
                    f"{ref} is not inside a class folder, so it has no label and is not used",
                    "Move it into the folder named after its class, or delete it.", file=ref))
            elif len(parts) == 2:
                result.candidates.append(Candidate(path=path, ref=ref, label=parts[0], split=split))
            else:
                nested_files[(parts[0], str(Path(*parts[:-1])))] += 1
    for (label, folder), count in sorted(nested_files.items()):
        shown = str(Path(class_root.relative_to(root), folder)) if class_root != root else folder
        result.problems.append(Problem(
            "nested_folder", ERROR,
            f"folder {shown}/ is nested inside class folder {label!r}: its {count} file(s) are not used",
            f"Move the images up into {label}/ (or make the sub-folder its own class at the top level); "
            "class folders must contain images directly.",
            file=shown + "/", label=label))


def _report_symlink(root: Path, link: Path, result: ReadResult) -> None:
    ref = str(link.relative_to(root))
    try:
        confine(root, ref)
    except PathOutsideRoot as exc:
        result.problems.append(outside_root_problem(ref, ref, exc.reason, _LINK_FIX))
        return
    result.ignored.append(ref)  # a link to a folder inside the dataset would count images twice
