"""Which of classmill's own files the runtime needs: the import closure of infer and serve.

Computed from the source, not listed by hand: every `import classmill...` of a needed module
(function bodies included, so lazy imports count) makes another module needed, and each
package's __init__ comes with it because Python runs it on the way in. A package's data folders
(serve/static) travel with it.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import classmill

# What the runtime runs: the Predictor, the service, and the `classmill-serve` command.
RUNTIME_ROOTS = ("classmill.infer", "classmill.serve", "classmill.serve.app", "classmill.serve.run",
                 "classmill.serve.cli", "classmill.serve.__main__")
PACKAGE = "classmill"


@dataclass(frozen=True)
class RuntimeModules:
    modules: tuple[str, ...]  # dotted names, sorted
    files: tuple[tuple[str, Path], ...]  # (path inside the wheel, file on disk), sources and data
    third_party: tuple[str, ...]  # top-level names of non-stdlib modules they import


def _source_root() -> Path:
    return Path(classmill.__file__).resolve().parent.parent


def _module_file(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """Every module name `module` imports, anywhere in the file (absolute and relative)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                anchor = parts if is_package else parts[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # `from package import name` may name a submodule.
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _data_files(root: Path, package_dir: Path) -> list[tuple[str, Path]]:
    # Folders without an __init__.py inside a package are its data (templates, static files).
    out = []
    for folder in sorted(p for p in package_dir.iterdir() if p.is_dir() and p.name != "__pycache__"):
        if (folder / "__init__.py").exists():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out.append((path.relative_to(root).as_posix(), path))
    return out


def runtime_modules(roots: tuple[str, ...] = RUNTIME_ROOTS) -> RuntimeModules:
    """The closure of `roots` over classmill's own imports, with the files to ship and the third-party imports."""
    root = _source_root()
    needed: set[str] = set()
    third_party: set[str] = set()
    pending = [parent for name in roots for parent in _with_parents(name)]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        path = _module_file(root, name)
        if path is None:
            continue  # `from classmill.x import Name`: Name is not a module
        needed.add(name)
        for imported in _imports(path, name):
            top = imported.split(".")[0]
            if top == PACKAGE:
                pending.extend(_with_parents(imported))
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                third_party.add(top)
    files = []
    for name in sorted(needed):
        path = _module_file(root, name)
        files.append((path.relative_to(root).as_posix(), path))
        if path.name == "__init__.py":
            files.extend(_data_files(root, path.parent))
    return RuntimeModules(tuple(sorted(needed)), tuple(files), tuple(sorted(third_party)))
