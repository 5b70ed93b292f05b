"""List-file readers: PaddleClas (`labels.txt` + `*_list.txt`) and CSV (`path,label[,split]`)."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from pathlib import Path

from classmill.data.labels import label_name_problem
from classmill.data.readers.confine import RULE, PathOutsideRoot, confine, outside_root_problem
from classmill.data.readers.folder import SPLIT_FOLDER_NAMES
from classmill.data.records import ERROR, Candidate, Problem, ReadResult
from classmill.errors import DatasetError

PADDLE_LIST_FILES = {"train": "train_list.txt", "val": "val_list.txt", "test": "test_list.txt"}
_CSV_PATH_HEADERS = {"path", "file", "filepath", "file_path", "image", "filename"}
_OUTSIDE_FIX = ("Write the path relative to the list file's folder and keep the image inside the dataset "
                "(copy it in rather than linking to it). Lists kept beside the images' folder: name that "
                "folder as the dataset root (`--data-root`).")


def labels_to_text(labels: list[str]) -> str:
    """labels.txt as classmill writes it (splits, runs, bundles): one name per line, line number = id.

    Refuses a name the label rule rejects: written anyway it would shift every id after it.
    """
    for name in labels:
        reason = label_name_problem(name)
        if reason:
            raise DatasetError(f"label {name!r} {reason}, so labels.txt cannot hold it. Rename the class "
                               "(run `classmill data check` on the dataset for the fix).")
    return "".join(f"{name}\n" for name in labels)


def read_labels_file(path: Path) -> list[str]:
    """labels.txt: one class name per line (line number = id), or PaddleClas' `id name` lines."""
    # Only \n ends a line (as labels_to_text writes it): splitlines() would also cut a name at
    # U+2028, U+0085 or \x1c..\x1e, silently turning one label into two. The label rule reports them.
    text = path.read_text(encoding="utf-8-sig")
    lines = [ln.strip() for ln in re.split(r"\r?\n", text) if ln.strip()]
    id_form = all(len(ln.split(None, 1)) == 2 and ln.split(None, 1)[0].isdigit() for ln in lines)
    if not id_form:
        return lines
    by_id = {int(ln.split(None, 1)[0]): ln.split(None, 1)[1].strip() for ln in lines}
    if sorted(by_id) != list(range(len(by_id))):
        raise ValueError(f"{path}: class ids must be 0..{len(by_id) - 1} without gaps")
    return [by_id[i] for i in range(len(by_id))]


def has_paddle_lists(folder: Path) -> bool:
    return any((folder / name).is_file() for name in PADDLE_LIST_FILES.values())


def read_paddle_lists(folder: Path, root: Path | None = None) -> ReadResult:
    """root: the folder every listed image must lie in (default: the lists' own folder)."""
    folder = folder.resolve()
    root = root.resolve() if root is not None else folder
    result = ReadResult(source=str(folder), kind="paddleclas")
    labels_path = folder / "labels.txt"
    labels: list[str] | None = None
    if labels_path.is_file():
        try:
            labels = read_labels_file(labels_path)
        except ValueError as exc:
            result.problems.append(Problem("bad_labels_file", ERROR, str(exc),
                                           "Write one class name per line; the line number is the class id."))
        else:
            result.declared_labels = list(labels)
    for split, filename in PADDLE_LIST_FILES.items():
        list_path = folder / filename
        if not list_path.is_file():
            continue
        for lineno, raw in enumerate(list_path.read_text(encoding="utf-8-sig").splitlines(), 1):
            line = raw.strip()
            if not line:
                continue
            where = f"{filename}:{lineno}"
            # rsplit: paths may contain spaces, the label id never does.
            pieces = line.rsplit(None, 1)
            if len(pieces) != 2 or not pieces[1].lstrip("-").isdigit():
                result.problems.append(Problem(
                    "bad_list_line", ERROR, f"{where}: expected 'relative/path.jpg label_id', got {line!r}",
                    "Fix the line: an image path, a space, and the integer class id.", file=where))
                continue
            rel, label_id = pieces[0], int(pieces[1])
            if labels is not None and not 0 <= label_id < len(labels):
                result.problems.append(Problem(
                    "unknown_label_id", ERROR,
                    f"{where}: class id {label_id} is not in labels.txt ({len(labels)} classes)",
                    "Use an id from labels.txt (0-based line number) or add the class there.", file=where))
                continue
            label = labels[label_id] if labels is not None else str(label_id)
            _add_listed_file(result, root, folder, rel, label, split, where)
    result.candidates.sort(key=lambda c: (c.split or "", c.ref))
    return result


def with_split_folder_hint(result: ReadResult, folder: Path) -> ReadResult:
    """For a `classmill data split --out` folder on disk, whose lists name the images beside it: say
    exactly which root admits them. The manifest only shapes the advice; it never widens the root
    (a folder's files are for the data's author, not the user, to decide)."""
    hint = _split_folder_hint(folder)
    if hint:
        result.problems = [replace(p, fix=hint) if p.rule == RULE else p for p in result.problems]
    return result


def _split_folder_hint(folder: Path) -> str | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        dataset = manifest.get("dataset") or {}
        source = dataset.get("root") or manifest["source"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return (f"This folder is a classmill split of {source}, whose images lie outside it: name that folder as the "
            f"dataset root (`--data-root {source}`; Python: root=...).")


def _add_listed_file(result: ReadResult, root: Path, base: Path, rel: str, label: str, split: str | None,
                     where: str) -> None:
    try:
        path = confine(root, rel, base)
    except PathOutsideRoot as exc:
        result.problems.append(outside_root_problem(where, rel, exc.reason, _OUTSIDE_FIX, label=label))
        return
    ref = str(path.relative_to(root))
    if not path.is_file():
        result.problems.append(Problem(
            "missing_file", ERROR, f"{where}: {rel} does not exist",
            "Fix the path (relative to the list file's folder) or remove the line.", file=ref, label=label))
        return
    result.candidates.append(Candidate(path=path, ref=ref, label=label, split=split))


def read_csv(csv_path: Path, root: Path | None = None) -> ReadResult:
    """root: the folder every listed image must lie in (default: the CSV's own folder)."""
    base = csv_path.resolve().parent
    root = root.resolve() if root is not None else base
    result = ReadResult(source=str(csv_path.resolve()), kind="csv")
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if rows and rows[0] and rows[0][0].strip().lower() in _CSV_PATH_HEADERS:
        rows = rows[1:]
        first_line = 2
    else:
        first_line = 1
    for lineno, row in enumerate(rows, first_line):
        if not row or not any(cell.strip() for cell in row):
            continue
        where = f"{csv_path.name}:{lineno}"
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            result.problems.append(Problem(
                "bad_csv_row", ERROR, f"{where}: expected 'path,label[,split]', got {row!r}",
                "Give every row an image path and a label; quote paths that contain commas.", file=where))
            continue
        split = None
        if len(row) > 2 and row[2].strip():
            split = SPLIT_FOLDER_NAMES.get(row[2].strip().lower())
            if split is None:
                result.problems.append(Problem(
                    "bad_split_name", ERROR, f"{where}: split {row[2]!r} is not train, val or test",
                    "Use train, val or test (or leave the column empty to let classmill split).", file=where))
                continue
        _add_listed_file(result, root, base, row[0].strip(), row[1].strip(), split, where)
    result.candidates.sort(key=lambda c: (c.split or "", c.ref))
    return result
