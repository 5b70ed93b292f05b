"""classmill-runtime: a small pure-Python wheel of infer + serve, built from this package's own files.

The offline SDK installs it instead of classmill: ONNX Runtime, numpy, Pillow and FastAPI, no torch,
timm, scikit-learn, matplotlib or SQLAlchemy. Its modules are the computed import closure of
infer and serve (runtime_modules), copied byte for byte, so there is no second copy of any code.
The wheel is written by hand (a zip with METADATA, WHEEL, entry_points.txt and RECORD, PEP 427):
no build backend and no network are needed, and the same sources give the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from classmill import __version__
from classmill.atomic import atomic_open
from classmill.sdk.runtime_modules import runtime_modules

DISTRIBUTION = "classmill-runtime"
CONSOLE_SCRIPT = "classmill-serve"
ENTRY_POINT = "classmill.serve.cli:main"
REQUIRES_PYTHON = ">=3.11"
# What the runtime modules import (pydantic and starlette come with fastapi; python-multipart is what
# FastAPI parses uploads with). Bounds as in pyproject.toml; tests/sdk checks both.
RUNTIME_REQUIREMENTS = (
    "onnxruntime>=1.18",
    "numpy>=1.26",
    "pillow>=10.0",
    "fastapi>=0.110",
    "uvicorn>=0.29",
    "python-multipart>=0.0.9",
    "pydantic-settings>=2.0",
    "platformdirs>=3",
)
_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: the same sources give the same wheel


def wheel_name(version: str = __version__) -> str:
    return f"{DISTRIBUTION.replace('-', '_')}-{version}-py3-none-any.whl"


def _metadata(version: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {DISTRIBUTION}",
        f"Version: {version}",
        "Summary: Run a classmill model bundle: ONNX Runtime predictor and HTTP service, without torch.",
        "License: Apache-2.0",
        f"Requires-Python: {REQUIRES_PYTHON}",
        *(f"Requires-Dist: {requirement}" for requirement in RUNTIME_REQUIREMENTS),
        "Description-Content-Type: text/markdown",
        "",
        f"The inference half of classmill {version} (classmill.infer, classmill.serve). Serve a bundle with "
        f"`{CONSOLE_SCRIPT} model.cmb` (http://127.0.0.1:8987/upload). Install it in its own environment, "
        "not beside the full classmill package, which contains the same modules.",
        "",
    ]
    return "\n".join(lines)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{name},sha256={digest},{len(data)}"


def build_runtime_wheel(out_dir: str | Path) -> Path:
    """Write classmill_runtime-<version>-py3-none-any.whl into out_dir (atomically); return its path."""
    version = __version__
    dist_info = f"{DISTRIBUTION.replace('-', '_')}-{version}.dist-info"
    entries: list[tuple[str, bytes]] = [(arcname, path.read_bytes()) for arcname, path in runtime_modules().files]
    entries += [
        (f"{dist_info}/METADATA", _metadata(version).encode("utf-8")),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: classmill.sdk\nRoot-Is-Purelib: true\n"
                               b"Tag: py3-none-any\n"),
        (f"{dist_info}/entry_points.txt", f"[console_scripts]\n{CONSOLE_SCRIPT} = {ENTRY_POINT}\n".encode()),
        (f"{dist_info}/top_level.txt", b"classmill\n"),
    ]
    record = "".join(_record_line(name, data) + "\n" for name, data in entries) + f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode("utf-8")))
    path = Path(out_dir) / wheel_name(version)
    with atomic_open(path, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:  # RECORD last, as installers expect
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path
