"""The SDK's README and run scripts, filled in for one model.

Kept as text here (not package data files) so they travel with every install of classmill.
The install and run lines are constants: tests/sdk runs exactly what the README says.
"""

from __future__ import annotations

from classmill.serve.address import DEFAULT_PORT

BUNDLE_IN_SDK = "bundle/model.cmb"
VENV = ".venv"


def install_line_linux(wheel: str) -> str:
    # --no-compile: Python compiles only the modules it imports, on first use, instead of every
    # module of onnxruntime and numpy up front (about 35 MB less on disk).
    return f"python3 -m venv {VENV} && {VENV}/bin/python -m pip install --no-compile {wheel}"


def install_line_windows(wheel: str) -> str:
    return f"py -m venv {VENV} && {VENV}\\Scripts\\python -m pip install --no-compile {wheel}"


RUN_SH = """#!/bin/sh
# Serve the model at http://127.0.0.1:{port}/upload (JSON API: /predict). Ctrl-C stops it.
# Options go to classmill-serve: ./run.sh --port 9000 | --host 0.0.0.0 | --thresholds FILE | --help
here="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$here/{venv}/bin/classmill-serve" ]; then
  exec "$here/{venv}/bin/classmill-serve" "$here/{bundle}" "$@"
fi
exec classmill-serve "$here/{bundle}" "$@"
"""

RUN_BAT = """@echo off
rem Serve the model at http://127.0.0.1:{port}/upload (JSON API: /predict). Ctrl-C stops it.
rem Options go to classmill-serve: run.bat --port 9000 ^| --host 0.0.0.0 ^| --thresholds FILE ^| --help
set "HERE=%~dp0"
if exist "%HERE%{venv}\\Scripts\\classmill-serve.exe" (
  "%HERE%{venv}\\Scripts\\classmill-serve.exe" "%HERE%{bundle_win}" %*
) else (
  classmill-serve "%HERE%{bundle_win}" %*
)
"""

README = """# {name}: offline SDK

An image classifier ({n_classes} classes) that runs on this machine, without network, from a
classmill model bundle. It needs Python 3.11 or newer on Linux, macOS or Windows; the runtime
(ONNX Runtime, numpy, Pillow, FastAPI; no PyTorch) takes about {size_hint} once installed.

## 1. Install (once), in this folder

Linux / macOS:

    {install_linux}

Windows (Command Prompt):

    {install_windows}

This installs `{wheel}` and its dependencies from PyPI into `{venv}` beside this file. On a
machine without internet, first download them elsewhere with
`pip download {wheel} -d wheels` (same OS and Python version) and install with
`--no-index --find-links wheels` added.

## 2. Run

    ./run.sh          (Linux / macOS)
    run.bat           (Windows)

then open http://127.0.0.1:{port}/upload and choose an image. `--port 9000` serves on another port,
`--host 0.0.0.0` makes it reachable from other machines (there is no login: only on a trusted
network). `run.sh --help` lists every option; limits are `CLASSMILL_SERVE_*` environment variables.

## 3. Use it from a program

    curl -F files=@photo.jpg http://127.0.0.1:{port}/predict

(`curl.exe` on Windows.) The answer is one JSON object per image:

    [{{"filename": "photo.jpg", "label": "{first_label}", "confidence": 0.97,
      "top_k": [{{"label": "{first_label}", "prob": 0.97}}, ...], "uncertain": false}}]

With Python and `requests`:

    import requests
    with open("photo.jpg", "rb") as f:
        answer = requests.post("http://127.0.0.1:{port}/predict", files={{"files": f}}).json()
    print(answer[0]["label"], answer[0]["confidence"], answer[0]["uncertain"])

Or without a server, in the same environment:

    from classmill.infer import Predictor
    predictor = Predictor.load("{bundle}")
    print(predictor.predict(["photo.jpg"])[0].to_dict())

Also: `POST /predict/batch` (a zip of images -> predictions.csv), `POST /predict/image` (the
picture with its label drawn on it), `GET /model` (classes, preprocessing, thresholds), and the
API reference at http://127.0.0.1:{port}/docs.

## Confidence thresholds

{thresholds_text}
An answer whose confidence is below its class's threshold comes back with `"uncertain": true` and
the `"threshold"`; the label and top-k list are the model's either way. To try others, write a JSON
file `{{"class name": 0.9}}` and run `./run.sh --thresholds that.json`.

## What is in this folder

- `{bundle}`: the model (ONNX), its classes, preprocessing and checksums
- `{wheel}`: classmill-runtime {version}, the inference part of classmill
- `run.sh`, `run.bat`: start the service

Classes: {labels}.
"""


def thresholds_text(thresholds: dict[str, float]) -> str:
    if not thresholds:
        return "This model has no confidence thresholds: every answer has `\"uncertain\": false`.\n"
    rows = "".join(f"| {_cell(name)} | {value:g} |\n" for name, value in thresholds.items())
    return f"This model's thresholds:\n\n| class | threshold |\n| --- | --- |\n{rows}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a class name may contain a pipe; it would split the table row
