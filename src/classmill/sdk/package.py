"""build_sdk: one zip a person unpacks on a fresh machine, installs in one line and serves in one command."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from classmill import __version__
from classmill.atomic import atomic_open
from classmill.errors import UserError
from classmill.infer import read_bundle, write_bundle_thresholds
from classmill.sdk import instructions
from classmill.sdk.runtime_wheel import build_runtime_wheel
from classmill.serve.address import DEFAULT_PORT

RUNTIME_SIZE_HINT = "170 MiB"  # measured by tests/sdk/test_sdk_runtime.py (it asserts < 200 MB)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SdkInfo:
    path: Path
    folder: str  # the folder the zip unpacks into
    files: tuple[str, ...]  # paths inside the zip
    runtime_wheel: str  # its file name, inside `folder`
    thresholds: dict[str, float]  # the thresholds the SDK's bundle serves
    size_bytes: int


def _folder_name(out_zip: Path) -> str:
    return _UNSAFE.sub("-", out_zip.stem).strip(".-") or "classmill-sdk"


def build_sdk(bundle_path: str | Path, out_zip: str | Path, *, thresholds: Mapping[str, float] | None = None,
              folder_name: str | None = None) -> SdkInfo:
    """Write the offline SDK for a bundle: bundle/model.cmb, the classmill-runtime wheel, README.md, run.sh/.bat.

    thresholds: {class name: threshold} written into the SDK's copy of the bundle (the version's
    thresholds on the platform); None keeps the bundle's own. The bundle is verified first, and
    the zip is written atomically, inside one folder named after it (or `folder_name`: a server
    writing to a temp file names the folder after the download).
    """
    bundle_path, out_zip = Path(bundle_path), Path(out_zip)
    if out_zip.suffix.lower() != ".zip":
        raise UserError(f"{out_zip}: the SDK is a .zip; give a file name ending in .zip.")
    folder = _folder_name(Path(folder_name or out_zip.name))
    with tempfile.TemporaryDirectory(prefix="classmill-sdk-") as tmp:
        work = Path(tmp)
        bundle_copy = work / "model.cmb"
        if thresholds is None:
            bundle = read_bundle(bundle_path)  # never ship a damaged bundle
            shutil.copyfile(bundle_path, bundle_copy)
        else:
            bundle = write_bundle_thresholds(bundle_path, thresholds, bundle_copy)
        wheel = build_runtime_wheel(work)
        name = str(bundle.metadata.get("name") or bundle.metadata.get("model_name") or bundle_path.stem)
        texts = _texts(name, bundle.labels, bundle.thresholds, wheel.name)
        members: list[tuple[str, Path | bytes, int]] = [
            ("README.md", texts["README.md"], 0o644),
            (instructions.BUNDLE_IN_SDK, bundle_copy, 0o644),
            (wheel.name, wheel, 0o644),
            ("run.sh", texts["run.sh"], 0o755),
            ("run.bat", texts["run.bat"], 0o644),
        ]
        with atomic_open(out_zip, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
            for arcname, source, mode in members:
                _add(zf, f"{folder}/{arcname}", source, mode)
    return SdkInfo(out_zip, folder, tuple(f"{folder}/{m[0]}" for m in members), wheel.name, dict(bundle.thresholds),
                   out_zip.stat().st_size)


def _texts(name: str, labels: list[str], thresholds: dict[str, float], wheel: str) -> dict[str, bytes]:
    readme = instructions.README.format(
        name=name, n_classes=len(labels), size_hint=RUNTIME_SIZE_HINT, wheel=wheel, venv=instructions.VENV,
        install_linux=instructions.install_line_linux(wheel), install_windows=instructions.install_line_windows(wheel),
        port=DEFAULT_PORT, first_label=labels[0].replace('"', '\\"'), bundle=instructions.BUNDLE_IN_SDK,
        thresholds_text=instructions.thresholds_text(thresholds), version=__version__,
        labels=", ".join(labels[:50]) + (f", … ({len(labels)} in all)" if len(labels) > 50 else ""),
    )
    script_values = dict(port=DEFAULT_PORT, venv=instructions.VENV, bundle=instructions.BUNDLE_IN_SDK,
                         bundle_win=instructions.BUNDLE_IN_SDK.replace("/", "\\"))
    return {
        "README.md": readme.encode("utf-8"),
        "run.sh": instructions.RUN_SH.format(**script_values).encode("utf-8"),
        # cmd.exe wants CRLF line ends.
        "run.bat": instructions.RUN_BAT.format(**script_values).replace("\n", "\r\n").encode("utf-8"),
    }


def _add(zf: zipfile.ZipFile, arcname: str, source: Path | bytes, mode: int) -> None:
    info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16  # a regular file with its permissions: run.sh stays executable
    # The bundle's weights and the wheel are compressed already.
    info.compress_type = zipfile.ZIP_STORED if isinstance(source, Path) else zipfile.ZIP_DEFLATED
    if isinstance(source, Path):
        with open(source, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    else:
        zf.writestr(info, source)

