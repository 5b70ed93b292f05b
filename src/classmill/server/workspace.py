"""The workspace folder on disk: created on first start, and the session secret kept inside it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from classmill.errors import ConfigError

SECRET_NAME = "session-secret"


def prepare_workspace(workspace: Path) -> Path:
    """Create the workspace folder (private to this user) if needed; ConfigError when it cannot be used."""
    try:
        workspace.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the workspace folder {workspace}: {exc.strerror}. "
            "Choose another with --workspace or CLASSMILL_WORKSPACE."
        ) from exc
    if not os.access(workspace, os.W_OK):
        raise ConfigError(f"the workspace folder {workspace} is not writable. Fix its permissions or choose another.")
    return workspace


def workspace_secret(workspace: Path) -> bytes:
    """The workspace's random key, created on first use; never a constant, so two installs never share it."""
    path = workspace / SECRET_NAME
    if not path.exists():
        _create_exclusively(path, secrets.token_hex(32))
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise ConfigError(f"{path} is damaged (too short). Delete it; a new one is made at the next start "
                          "(everyone then logs in again).")
    return text.encode("ascii")


def _create_exclusively(path: Path, text: str) -> None:
    # Written whole to a private temp file, then hard-linked into place: link() refuses an existing
    # name, so of two servers starting at once exactly one key wins and both read that one, and a
    # crash never leaves half a key under the final name.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won; its key is the workspace's
    finally:
        tmp.unlink(missing_ok=True)
