"""The batch test's sorted zip: each image in a folder named after its predicted class, the uncertain
ones in uncertain/<class>/, the unreadable ones in errors/ — what a person opens to check by eye.
"""

from __future__ import annotations

import zipfile
from contextlib import ExitStack
from pathlib import PurePosixPath

from classmill import atomic
from classmill.infer.batch import label_folder_name

UNCERTAIN_FOLDER = "uncertain"
ERRORS_FOLDER = "errors"


class SortedZip:
    """A context manager writing entry by entry (never whole in memory) into a temp file, renamed into
    place on a clean exit; left by an exception (an error, a stop), it leaves nothing under the final name."""

    def __init__(self, path, labels: list[str]) -> None:
        self._stack = ExitStack()
        handle = self._stack.enter_context(atomic.atomic_open(path, "wb"))
        # Images are compressed already: stored, not deflated, so the zip costs I/O only.
        self._zip = self._stack.enter_context(zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED))
        taken = {label_folder_name(label).lower() for label in labels}
        self.uncertain_folder = _free_name(UNCERTAIN_FOLDER, taken)
        self.errors_folder = _free_name(ERRORS_FOLDER, taken)
        self._names: set[str] = set()

    def add(self, name: str, data: bytes, label: str | None, uncertain: bool = False) -> str:
        """Put one image under its predicted label (None: an error); returns the entry's name."""
        if label is None:
            folder = self.errors_folder
        elif uncertain:
            folder = f"{self.uncertain_folder}/{label_folder_name(label)}"
        else:
            folder = label_folder_name(label)
        entry = self._unique(folder, PurePosixPath(name).name or "image")
        self._zip.writestr(entry, data)
        return entry

    def _unique(self, folder: str, base: str) -> str:
        stem, suffix = PurePosixPath(base).stem, PurePosixPath(base).suffix
        entry, n = f"{folder}/{base}", 1
        while entry.lower() in self._names:  # one name from two input folders; case-insensitive unpackers
            entry, n = f"{folder}/{stem}_{n}{suffix}", n + 1
        self._names.add(entry.lower())
        return entry

    def __enter__(self) -> "SortedZip":
        return self

    def __exit__(self, *exc) -> bool:
        return self._stack.__exit__(*exc)  # the zip's directory, then fsync and rename; on an error, no file


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or `_name`, `__name`...: a class called "errors" keeps its own folder."""
    while name.lower() in taken:
        name = f"_{name}"
    return name
