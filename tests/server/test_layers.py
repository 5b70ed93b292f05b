"""Routes never query: server/api and server/web may name the Session type, but build no SQL (services do)."""

from __future__ import annotations

import ast
from pathlib import Path

import classmill.server.api as api_package
import classmill.server.web as web_package

ALLOWED = {("sqlalchemy.orm", "Session")}


def test_api_and_web_modules_import_nothing_from_sqlalchemy_but_the_session_type():
    offenders = []
    for path in [*Path(api_package.__file__).parent.rglob("*.py"), *Path(web_package.__file__).parent.rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                offenders += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                              if (node.module, a.name) not in ALLOWED]
            elif isinstance(node, ast.Import):
                offenders += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("sqlalchemy")]
    assert offenders == []
