"""Pick the reader for what the user handed over: a folder, a zip, PaddleClas lists or a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from classmill.data.readers.folder import read_folder
from classmill.data.readers.lists import has_paddle_lists, read_csv, read_paddle_lists, with_split_folder_hint
from classmill.data.readers.zip_archive import archive_root, extract_zip
from classmill.data.records import ReadResult
from classmill.errors import DatasetError
from classmill.progress import ProgressCallback

if TYPE_CHECKING:  # policy.py imports the zip limits from this package
    from classmill.data.policy import DatasetPolicy

__all__ = ["read_source"]


def read_source(source: str | Path, policy: DatasetPolicy, extract_dir: Path | None = None, *,
                root: Path | None = None, progress: ProgressCallback | None = None) -> ReadResult:
    """root: for list files and CSVs on disk, the folder their images must lie in (default: the
    list's own folder); it comes from the person running the command, never from the data."""
    path = Path(source).expanduser()
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder. Give a folder of class folders, a .zip, a CSV or a folder with PaddleClas list files.")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".zip":
            if root is not None:
                raise DatasetError(f"{path}: a zip's paths are always confined to the archive; leave out the dataset root.")
            return _read_zip(path, policy, extract_dir, progress)
        if suffix == ".csv":
            return read_csv(path, root)
        if suffix == ".txt" and has_paddle_lists(path.parent):
            return _read_lists_on_disk(path.parent, root)
        raise DatasetError(f"{path}: cannot read a dataset from a {suffix or 'extension-less'} file. "
                           "Give a folder with one sub-folder per class, a .zip of it, a CSV (path,label[,split]) "
                           "or a folder with PaddleClas labels.txt + train_list.txt.")
    if has_paddle_lists(path):
        return _read_lists_on_disk(path, root)
    return read_folder(path)


def _read_lists_on_disk(folder: Path, root: Path | None) -> ReadResult:
    result = read_paddle_lists(folder, root)
    return result if root is not None else with_split_folder_hint(result, folder.resolve())


def _read_zip(zip_path: Path, policy: DatasetPolicy, extract_dir: Path | None,
              progress: ProgressCallback | None) -> ReadResult:
    extracted = extract_zip(zip_path, extract_dir, limits=policy.archive, progress=progress)
    root = archive_root(extracted.root)
    csvs = sorted(root.glob("*.csv"))
    if has_paddle_lists(root):
        inner = read_paddle_lists(root)
    elif len(csvs) == 1 and not any(p.is_dir() for p in root.iterdir()):
        inner = read_csv(csvs[0])
    else:
        inner = read_folder(root)
    inner.source = str(zip_path.resolve())
    inner.kind = f"zip/{inner.kind}"
    inner.problems = extracted.problems + inner.problems
    inner.ignored = extracted.ignored + inner.ignored
    return inner
