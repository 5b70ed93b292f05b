"""The classmill-runtime wheel: exactly the computed modules, a valid RECORD, dependencies that cover
every third-party import (and nothing of the training stack), the same bytes from the same sources."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from classmill.sdk.runtime_modules import runtime_modules
from classmill.sdk.runtime_wheel import CONSOLE_SCRIPT, ENTRY_POINT, RUNTIME_REQUIREMENTS, build_runtime_wheel

REPO = Path(__file__).resolve().parents[2]
HEAVY = {"torch", "torchvision", "timm", "scikit-learn", "matplotlib", "sqlalchemy", "alembic", "onnx", "jinja2",
         "typer", "rich", "psycopg", "huggingface-hub"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_wheel_holds_the_closure_and_a_valid_record(tmp_path):
    wheel = build_runtime_wheel(tmp_path)
    assert wheel.name == "classmill_runtime-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = "classmill_runtime-0.1.0.dist-info"
        code = sorted(n for n in names if not n.startswith(dist_info))
        expected = dict(runtime_modules().files)
        assert code == sorted(expected)
        for name in code:  # byte for byte the package's own files
            assert zf.read(name) == expected[name].read_bytes(), name
        record = list(csv.reader(io.StringIO(zf.read(f"{dist_info}/RECORD").decode())))
        assert sorted(row[0] for row in record) == sorted(names)
        for path, digest, size in record:
            if path.endswith("RECORD"):
                assert (digest, size) == ("", "")
                continue
            data = zf.read(path)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert int(size) == len(data)
        meta = zf.read(f"{dist_info}/METADATA").decode()
        assert "Name: classmill-runtime" in meta and "Requires-Python: >=3.11" in meta
        assert re.findall(r"^Requires-Dist: (.+)$", meta, re.M) == list(RUNTIME_REQUIREMENTS)
        assert f"{CONSOLE_SCRIPT} = {ENTRY_POINT}" in zf.read(f"{dist_info}/entry_points.txt").decode()
        assert "Root-Is-Purelib: true" in zf.read(f"{dist_info}/WHEEL").decode()
    again = build_runtime_wheel(tmp_path / "again")
    assert again.read_bytes() == wheel.read_bytes()  # reproducible


def test_requirements_cover_every_third_party_import_and_nothing_heavy():
    declared = {_name(r) for r in RUNTIME_REQUIREMENTS}
    assert not declared & HEAVY
    # One level of their own dependencies: pydantic and starlette come with fastapi.
    provided = set(declared)
    for name in declared:
        provided |= {_name(r) for r in metadata.requires(name) or [] if "extra ==" not in r}
    assert not provided & HEAVY, provided & HEAVY
    distributions = metadata.packages_distributions()
    for module in runtime_modules().third_party:
        owners = {_name(d) for d in distributions.get(module, [])}
        assert owners & provided, f"{module} (from {owners}) is imported but no runtime requirement brings it"
    # FastAPI parses the upload forms with python-multipart, which nothing imports by name.
    assert "python-multipart" in declared


def test_requirement_bounds_match_pyproject():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    by_name = {_name(r): r.replace(" ", "") for r in declared}
    for requirement in RUNTIME_REQUIREMENTS:
        assert by_name[_name(requirement)] == requirement, f"{requirement} vs pyproject {by_name[_name(requirement)]}"
