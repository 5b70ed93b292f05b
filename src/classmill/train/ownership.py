"""Who owns a run folder: an exclusive lock while a process trains into it, and a heartbeat.

    with owned_run(run) as owner:      # refuses a folder another process is training into
        ...checks that may still refuse...
        owner.start(config)            # status.json: running, pid, host, started_at, heartbeat_at
        return _run(...)               # an exception leaves "failed" with a reason, Ctrl-C "interrupted"

The lock is an flock on <run>/.lock, which the kernel drops when its process dies, however it
dies (kill -9 included), so a dead owner never blocks a resume and a status reader on the same
machine can tell a live owner from a dead one by trying the lock. A network file system may not
carry an flock to other machines; there the heartbeat in status.json decides.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from classmill.errors import RunStateError
from classmill.train.failure import failure_kind, failure_reason

if TYPE_CHECKING:
    from classmill.train.run_dir import RunDirectory

LOCK_FILE = ".lock"
HEARTBEAT_SECONDS = 15.0
STALE_AFTER_SECONDS = 4 * HEARTBEAT_SECONDS  # a few missed beats: a busy disk, not a dead process
# A status reader probing the lock holds it for microseconds; a trainer starting just then retries.
_ACQUIRE_SECONDS = 2.0


def this_host() -> str:
    return socket.gethostname()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def heartbeat_age(owner: dict) -> float | None:
    """Seconds since the owner's last heartbeat (or its start); None when it recorded neither."""
    stamp = owner.get("heartbeat_at") or owner.get("started_at")
    try:
        return max(0.0, time.time() - datetime.fromisoformat(stamp).timestamp())
    except (TypeError, ValueError):
        return None


def lock_is_held(root: Path) -> bool:
    """True while a process on this machine owns the run (a non-blocking flock fails)."""
    try:
        fd = os.open(Path(root) / LOCK_FILE, os.O_RDONLY)  # never create it: reading writes nothing
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the probe's own lock at once


def owner_alive(root: Path, status: dict) -> bool:
    """Whether the process that recorded `status` still owns the run."""
    owner = status.get("owner") or {}
    if owner.get("host", this_host()) != this_host():
        age = heartbeat_age(owner)
        return age is not None and age < STALE_AFTER_SECONDS
    return lock_is_held(root)


def holder(root: Path) -> str:
    """'process 123 on host (since ...)' for the current or last owner, from the lock file."""
    try:
        info = json.loads((Path(root) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    return f"process {info.get('pid', '?')} on {info.get('host', '?')} (since {info.get('started_at', '?')})"


def _in_use(root: Path, who: str) -> RunStateError:
    return RunStateError(f"{root} is in use: {who} is training it. Wait for it to end (`classmill status {root}`), "
                         f"or stop it with `classmill stop {root}` (it checkpoints and exits), then continue "
                         f"with `classmill train --resume {root}`.")


def _acquire(root: Path) -> int:
    path = root / LOCK_FILE
    deadline = time.monotonic() + _ACQUIRE_SECONDS
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() > deadline:
                raise _in_use(root, holder(root)) from None
            time.sleep(0.05)
            continue
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # an owner that never started removed the file after we opened it: lock the new one
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"pid": os.getpid(), "host": this_host(), "started_at": now_iso()}).encode())
    return fd


class RunOwner:
    """This process's hold on a run: its lock, its heartbeat, and the status it leaves behind."""

    def __init__(self, run: "RunDirectory", fd: int | None) -> None:
        self.run, self._fd = run, fd
        self.started = False
        self._config = None
        self._identity: dict = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, config=None) -> None:
        """Record this process as the run's trainer; `config` names the sizes an out-of-memory hint cites."""
        if self._fd is None:
            return  # not the main process of a distributed job: rank 0 speaks for the run
        self._config = config
        stamp = now_iso()
        self._identity = {"pid": os.getpid(), "host": this_host(), "started_at": stamp}
        progress = {"epoch": 0, **_progress(self.run.status())}
        if config is not None:
            progress["epochs"] = config.epochs  # known before the first event: loading can take minutes
        self.run.set_status("running", **progress, owner={**self._identity, "heartbeat_at": stamp})
        self.started = True
        self._thread = threading.Thread(target=self._beat, name="classmill-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.run.update_status(lambda status: self._ours(status, heartbeat_at=now_iso()))
            except OSError:
                pass  # a full or flaky disk: the next beat tries again; readers allow a few misses

    def _ours(self, status: dict, **owner_changes) -> dict | None:
        """`status` with the owner updated, if this process still owns a running run; else None."""
        owner = status.get("owner") or {}
        if status.get("status") != "running" or any(owner.get(k) != v for k, v in self._identity.items()):
            return None
        return {**status, "owner": {**owner, **owner_changes}}

    def record_end(self, exc: BaseException) -> None:
        """An exception escaped training: say so in status.json, unless the run already recorded its end."""
        if not self.started:
            return
        if isinstance(exc, Exception):
            status, kind, reason = "failed", failure_kind(exc), failure_reason(exc, self._config)
        else:  # KeyboardInterrupt (a second Ctrl-C) or SystemExit: no checkpoint at this point
            status, kind, reason = "interrupted", "interrupted", (
                "interrupted before it could checkpoint (a second Ctrl-C or an exit); a resume continues "
                "from the last checkpoint")

        def end(current: dict) -> dict | None:
            ours = self._ours(current, heartbeat_at=now_iso())
            if ours is None:
                return None
            return {**ours, "status": status, "reason": reason, "error": type(exc).__name__, "kind": kind,
                    "ended_at": now_iso()}

        self.run.update_status(end)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._fd is not None:
            if not self.started and not self.run.is_run():
                # Refused before anything was recorded: leave no trace in a folder that holds no run.
                (self.run.root / LOCK_FILE).unlink(missing_ok=True)
            os.close(self._fd)  # releases the lock
            self._fd = None


def _progress(status: dict) -> dict:
    """What a previous status says about progress (epoch, best...), without its state and verdict."""
    return {k: v for k, v in status.items()
            if k not in ("status", "owner", "reason", "error", "kind", "recorded_status", "ended_at")}


@contextmanager
def owned_run(run: "RunDirectory", *, main: bool = True, create: bool = False) -> Iterator[RunOwner]:
    """Hold `run` for this process (refusing one another process holds); `main` False under DDP ranks > 0.

    create: make the folder if missing (a new run); if nothing starts, an empty folder made here goes again.
    """
    if not main:
        yield RunOwner(run, None)
        return
    if run.root.exists() and not run.root.is_dir():
        raise RunStateError(f"{run.root} is a file, not a run folder; choose another --out.")
    made = create and not run.root.exists()
    if create:
        run.root.mkdir(parents=True, exist_ok=True)
    owner = RunOwner(run, _acquire(run.root))
    try:
        _refuse_remote_owner(run)
        yield owner
    except BaseException as exc:
        try:
            owner.record_end(exc)
        except OSError:
            pass  # keep the training's own error; an unwritten end still reads as "interrupted" once we exit
        raise
    finally:
        owner.close()
        if made and not owner.started and not any(run.root.iterdir()):
            run.root.rmdir()


def _refuse_remote_owner(run: "RunDirectory") -> None:
    # Our flock may not reach another machine's (network file systems): trust a fresh heartbeat too.
    status = run.status()
    owner = status.get("owner") or {}
    if status.get("status") == "running" and owner.get("host", this_host()) != this_host() \
            and owner_alive(run.root, status):
        raise _in_use(run.root, f"process {owner.get('pid', '?')} on {owner['host']} "
                                f"(heartbeat {heartbeat_age(owner):.0f} s ago)")
