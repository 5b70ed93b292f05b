"""The benchmark's own virtual environment for Ultralytics, made on demand.

Ultralytics is a peer to measure against, never a dependency of classmill: it is installed
into bench/.venv-ultralytics (git-ignored), not into classmill's environment. That venv sees
classmill's environment's packages through a .pth file (appended to sys.path, so anything pip
installs into the new venv wins), which gives Ultralytics the very same torch build without
downloading or copying it; pip then adds only what is missing (opencv, polars, ...).
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

from bench.plan import REPO_ROOT

VENV = REPO_ROOT / "bench" / ".venv-ultralytics"
_READY_MARK = VENV / ".bench-ready"
_SHARE_PTH = "_classmill_env_packages.pth"


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ultralytics_python(install: bool) -> tuple[Path | None, str]:
    """(python, "") when usable; (None, why not) otherwise. install=False never runs pip."""
    if _READY_MARK.is_file() and venv_python().is_file():
        return venv_python(), ""
    if not install:
        return None, "not installed (the tiny configuration never installs it); `python -m bench train` installs it"
    try:
        _create()
    except subprocess.CalledProcessError as exc:
        return None, f"could not install Ultralytics into {VENV}: {exc}"
    return venv_python(), ""


def _create() -> None:
    base = getattr(sys, "_base_executable", sys.executable)
    print(f"  creating {VENV} for Ultralytics (once)...", flush=True)
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    purelib = subprocess.run([str(venv_python()), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, _SHARE_PTH).write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(venv_python()), "-m", "pip", "install", "--quiet", "ultralytics"], check=True)
    _READY_MARK.write_text("ok\n")


def ultralytics_version(python: Path) -> str | None:
    out = subprocess.run([str(python), "-c", "from importlib.metadata import version; print(version('ultralytics'))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None
