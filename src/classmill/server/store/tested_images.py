"""Images sent to a model's single-image test, kept for a while so one can be added to a dataset.

    <workspace>/model-tests/
        images/<hh>/<hash><ext>   the tested files, by content hash: a picture tested ten times is kept once
        tests/<id>.json           one test of one image: who, which model version, which file, the answer
        tests/<id>.png            its result picture

A test expires `retention_s` after it was made: `get` no longer finds it, and `sweep` deletes it,
then every image no remaining test refers to. A test's id is random (never the content hash), so
knowing a picture's hash gives nobody access to someone else's test.

Why a lock file: a sweep deciding "no test refers to image H" while a new test of H is being
written would delete H under it. Writers hold a shared flock for "put image + write test", the
sweep an exclusive one, so the two never interleave (several server processes included).
"""

from __future__ import annotations

import fcntl
import json
import re
import secrets
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from classmill import atomic
from classmill.data.probe import content_hash
from classmill.server.store.blobs import LocalBlobStore

TEST_ID = re.compile(r"[0-9a-f]{32}")
SWEEP_EVERY_S = 3600.0  # between sweeps made on the way of a new test (the server also sweeps at start)
_LOCK_NAME = ".lock"
_SWEPT_NAME = ".swept"  # its mtime: when the last sweep ran


@dataclass(frozen=True)
class TestedImage:
    """One image of one single-image test (the JSON file's content)."""

    __test__ = False  # not a pytest test class, whatever its name

    id: str
    model_version_id: int
    user_id: int
    content_hash: str
    suffix: str  # the stored file's extension, from its real format
    name: str  # the file name the user sent (its last path part)
    created_at: float  # seconds since the epoch
    answer: dict  # what the test answered for it: label, confidence, top5, uncertain

    def expires_at(self, retention_s: float) -> float:
        return self.created_at + retention_s


class TestedImages:
    """The tests area of one workspace."""

    __test__ = False

    def __init__(self, root: Path, retention_s: float) -> None:
        self.root = Path(root)
        self.retention_s = retention_s
        self.images = LocalBlobStore(self.root / "images")
        self.tests = self.root / "tests"

    def keep(self, data: bytes, suffix: str, name: str, model_version_id: int, user_id: int, answer: dict,
             result_png: bytes) -> TestedImage:
        """Store the image (if new), its result picture and the test; returns the test (with its new id)."""
        test = TestedImage(id=secrets.token_hex(16), model_version_id=model_version_id, user_id=user_id,
                           content_hash=content_hash(data), suffix=suffix, name=name, created_at=time.time(),
                           answer=answer)
        with self._locked(fcntl.LOCK_SH):
            self.images.put_bytes(data, test.content_hash, suffix)
            atomic.write_bytes(self.tests / f"{test.id}.png", result_png)
            # The JSON last: a test is only found once its image and picture exist.
            atomic.write_json(self.tests / f"{test.id}.json", asdict(test))
        return test

    def get(self, test_id: str) -> TestedImage | None:
        """The test, or None when the id is malformed, unknown, expired or its image is gone."""
        if not TEST_ID.fullmatch(test_id):
            return None  # never a path built from anything but 32 hex digits
        try:
            test = TestedImage(**json.loads((self.tests / f"{test_id}.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        if time.time() >= test.expires_at(self.retention_s) or self.image_path(test) is None:
            return None
        return test

    def image_path(self, test: TestedImage) -> Path | None:
        try:
            return self.images.path(test.content_hash)
        except FileNotFoundError:
            return None

    def result_path(self, test: TestedImage) -> Path | None:
        path = self.tests / f"{test.id}.png"
        return path if path.is_file() else None

    def sweep(self, now: float | None = None) -> int:
        """Delete expired tests, then images no test refers to (and stale temp files); returns files deleted."""
        now = time.time() if now is None else now
        cutoff = now - self.retention_s
        removed = 0
        with self._locked(fcntl.LOCK_EX):  # no test is being written meanwhile: temp files are leftovers
            referenced: set[str] = set()
            for path in _files(self.tests):
                if _mtime(path) >= cutoff and not path.name.endswith(".tmp"):
                    if path.suffix == ".json":
                        referenced.add(_hash_of(path))
                    continue
                path.unlink(missing_ok=True)
                removed += 1
            for path in _files(self.images.root, nested=True):
                if path.name.split(".", 1)[0] not in referenced:  # a temp file's name starts with "."
                    path.unlink(missing_ok=True)
                    removed += 1
            (self.root / _SWEPT_NAME).touch()
        return removed

    def sweep_if_due(self, every_s: float = SWEEP_EVERY_S) -> int:
        """sweep() when the last one is older than `every_s` (or never ran); 0 otherwise."""
        marker = self.root / _SWEPT_NAME
        if marker.exists() and time.time() - _mtime(marker) < every_s:
            return 0
        return self.sweep()

    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / _LOCK_NAME, "a+b") as handle:
            fcntl.flock(handle.fileno(), mode)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _files(folder: Path, nested: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        if nested and entry.is_dir():
            found.extend(p for p in entry.iterdir() if p.is_file())
        elif entry.is_file():
            found.append(entry)
    return found


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")  # gone meanwhile: nothing to delete


def _hash_of(path: Path) -> str:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("content_hash", ""))
    except (OSError, ValueError, AttributeError):
        return ""  # a damaged test refers to nothing (get() does not find it either)
