"""Where dataset zips are unpacked: a private per-user cache, locked per archive, kept within a budget.

Each extraction `<cache>/<stem>-<key>/` has a lock file `<stem>-<key>.lock` beside it (flock):
- exclusive while the extraction is written (a second process waits, then reuses it) or evicted;
- shared while a process uses it, for the rest of that process: training reads its images for
  hours after the check, so eviction must never pull the files from under it.
Lock files are never deleted: unlinking one while another process waits on it would let two
processes believe they hold the same lock.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable

import platformdirs

from classmill.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: the offline SDK's runtime imports this package but never unpacks dataset zips
    fcntl = None

CACHE_DIR_ENV = "CLASSMILL_CACHE_DIR"
CACHE_BUDGET_ENV = "CLASSMILL_CACHE_MAX_GB"
DEFAULT_BUDGET_BYTES = 20 * 10**9
COMPLETE_MARKER = ".classmill-extracted"
_RETRY_S = 0.05  # written last: its presence means the extraction is whole

# Shared locks this process holds on extractions it uses (path -> fd). Process-wide on purpose:
# the lock must live exactly as long as the process that reads the files.
_IN_USE: dict[str, int] = {}


def cache_dir() -> Path:
    """The extraction cache: $CLASSMILL_CACHE_DIR or the user's cache dir, private to its owner (0700)."""
    base = Path(os.environ.get(CACHE_DIR_ENV) or platformdirs.user_cache_dir("classmill")).expanduser()
    folder = base / "extract"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.stat()
    if info.st_uid != os.getuid():
        raise UserError(f"{folder}: the extraction cache belongs to another user. Set {CACHE_DIR_ENV} to a folder "
                        "of your own.")
    if info.st_mode & 0o077:
        os.chmod(folder, 0o700)  # other users must not read (or plant files in) unpacked datasets
    return folder


def cache_budget_bytes() -> int:
    """$CLASSMILL_CACHE_MAX_GB (decimal GB) or 20 GB."""
    raw = os.environ.get(CACHE_BUDGET_ENV)
    if not raw:
        return DEFAULT_BUDGET_BYTES
    try:
        return int(float(raw) * 10**9)
    except ValueError:
        raise UserError(f"{CACHE_BUDGET_ENV}={raw!r} is not a number of GB; set it to e.g. 20.") from None


def default_extract_dir(zip_path: Path) -> Path:
    """A per-archive folder in the cache, reused while the zip is unchanged."""
    st = zip_path.stat()
    key = hashlib.blake2b(f"{zip_path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode(), digest_size=8).hexdigest()
    return cache_dir() / f"{zip_path.stem}-{key}"


def lock_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".lock")


def is_complete(dest: Path) -> bool:
    return (dest / COMPLETE_MARKER).is_file()


def use_or_extract(dest: Path, extract: Callable[[Path], None]) -> None:
    """Make `dest` a complete extraction (calling `extract(dest)` if no process has) and hold it in use."""
    if fcntl is None:
        raise UserError("unpacking a dataset zip into the cache needs file locks (Linux or macOS); "
                        "here, unzip it and give the folder instead.")
    if str(dest) in _IN_USE and is_complete(dest):
        _touch(dest)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Reuse this process's own lock descriptor if it has one: flock locks belong to an open file,
    # so an exclusive lock asked through a second descriptor would wait on our own shared lock
    # forever (an extraction deleted from under a process that still uses it).
    held = _IN_USE.pop(str(dest), None)
    fd = held if held is not None else os.open(lock_path(dest), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits while another process extracts (it holds LOCK_EX)
            if is_complete(dest):
                break
            try:
                # Never wait for the exclusive lock: a process that finished the extraction first keeps
                # its shared lock for as long as it runs, so a waiting upgrade would wait that long.
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(_RETRY_S)  # another process is about to extract: wait for it through LOCK_SH
                continue
            if not is_complete(dest):
                extract(dest)
            # Back to shared and check again: the downgrade is not atomic, an eviction may slip in.
    except BaseException:
        os.close(fd)
        raise
    _touch(dest)
    old = _IN_USE.get(str(dest))
    _IN_USE[str(dest)] = fd
    if old is not None and old != fd:  # another thread of this process got there first
        os.close(old)


def _touch(dest: Path) -> None:
    os.utime(dest / COMPLETE_MARKER)  # the marker's mtime is the extraction's last use, for LRU eviction


def extraction_bytes(dest: Path) -> int:
    try:
        return int(json.loads((dest / COMPLETE_MARKER).read_text(encoding="utf-8")).get("bytes", 0))
    except (OSError, ValueError):
        return 0


def evict_to_budget(root: Path, budget: int, keep: Path) -> list[Path]:
    """Delete least-recently-used complete extractions until the cache fits `budget`; return them.

    Never `keep`, and never one another process is using or writing (its lock cannot be taken).
    Stale partial folders left by a killed extraction are removed on the way.
    """
    entries = []
    for marker in root.glob(f"*/{COMPLETE_MARKER}"):
        try:
            entries.append((marker.stat().st_mtime, marker.parent, extraction_bytes(marker.parent)))
        except OSError:
            continue
    total = sum(size for _, _, size in entries)
    evicted = []
    for _, folder, size in sorted(entries):
        if total <= budget:
            break
        if folder == keep or str(folder) in _IN_USE:
            continue
        if _remove_unless_locked(folder, folder):
            total -= size
            evicted.append(folder)
    for partial in root.glob("*.partial-*"):
        _remove_unless_locked(partial.with_name(partial.name.rsplit(".partial-", 1)[0]), partial)
    return evicted


def _remove_unless_locked(entry: Path, target: Path) -> bool:
    fd = os.open(lock_path(entry), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    try:
        (target / COMPLETE_MARKER).unlink(missing_ok=True)  # first, so a half-deleted folder never looks whole
        shutil.rmtree(target, ignore_errors=True)
        return True
    finally:
        os.close(fd)
