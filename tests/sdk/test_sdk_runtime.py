"""The offline SDK on a fresh environment, as its README says: a new venv (no system site packages),
the one-line install of the runtime wheel, no torch, well under 200 MB, and the one command serving
/predict and /upload with the same answers as the in-process Predictor.

The install resolves the runtime's dependencies the way a user's pip does (PyPI, pip's cache and
any configured index); the test skips only when no package index answers at all.
"""

from __future__ import annotations

import json
import os
import sys
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from classmill.infer import Predictor
from classmill.sdk import build_sdk
from classmill.sdk.instructions import VENV
from support.sdk_install import install_sdk, run, running_sdk

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="drives run.sh; run.bat is its Windows twin"),
]

MAX_INSTALLED_MIB = 200
MURKY_RED = (160, 120, 40)  # answered "red" with ~0.79: uncertain under the 0.9 threshold











def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _sizes(site: Path) -> dict[str, int]:
    """Bytes per top-level entry of site-packages (a package, its .libs, its .dist-info)."""
    return {entry.name: (_tree_bytes(entry) if entry.is_dir() else entry.stat().st_size) for entry in site.iterdir()}





class _TopK(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[tuple[str, float]] = []
        self.uncertain: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-prob" in attrs:
            self.rows.append((attrs["data-label"], float(attrs["data-prob"])))
        if attrs.get("id") == "result":
            self.uncertain = attrs.get("data-uncertain")


@pytest.fixture(scope="module")
def installed_sdk(colour_bundle, tmp_path_factory):
    """The SDK unpacked and installed by its README's line."""
    tmp = tmp_path_factory.mktemp("sdk")
    info = build_sdk(colour_bundle, tmp / "colour-sdk.zip", thresholds={"red": 0.9})
    return install_sdk(info.path, info.folder, info.runtime_wheel, tmp)


def test_the_runtime_installs_without_torch_and_serves_like_the_predictor(installed_sdk, make_two_tone, colours,
                                                                         tmp_path):
    folder, env, install_seconds = installed_sdk.folder, installed_sdk.env, installed_sdk.install_seconds
    venv_python = folder / VENV / "bin" / "python"
    assert "include-system-site-packages = false" in (folder / VENV / "pyvenv.cfg").read_text()
    site = Path(run([str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp_path, env, 60).stdout.strip())

    # The runtime, not the full package: no torch, no training code.
    no_torch = run([str(venv_python), "-c", "import torch"], tmp_path, env, 60)
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
    probe = run([str(venv_python), "-c", "import json, classmill, importlib.util as u; print(json.dumps([classmill.__file__, "
                  "[m for m in ('classmill.train', 'classmill.export', 'sklearn', 'timm') if u.find_spec(m)]]))"],
                 tmp_path, env, 60)
    where, present = json.loads(probe.stdout)
    assert Path(where).is_relative_to(site) and present == []

    images = {"murky.png": make_two_tone(MURKY_RED, colours["dark"]), "red.png": make_two_tone(colours["red"], colours["dark"])}
    for name, image in images.items():
        image.save(tmp_path / name)

    with running_sdk(installed_sdk) as url:
        reference = Predictor.load(folder / "bundle" / "model.cmb")  # in this process, from the same bundle
        assert reference.thresholds == {"red": 0.9}
        for name in images:
            data = (tmp_path / name).read_bytes()
            [answer] = httpx.post(f"{url}/predict", files={"files": (name, data, "image/png")}, timeout=60).json()
            expected = reference.predict([tmp_path / name])[0].to_dict()
            assert (answer["label"], answer["uncertain"], answer.get("threshold")) == (
                expected["label"], expected["uncertain"], expected.get("threshold"))
            assert [t["label"] for t in answer["top_k"]] == [t["label"] for t in expected["top_k"]]
            for got, want in zip(answer["top_k"], expected["top_k"]):
                assert got["prob"] == pytest.approx(want["prob"], abs=1e-5)
            page = httpx.post(f"{url}/upload", files={"files": (name, data, "image/png")}, timeout=60)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            shown = _TopK(page.text)
            assert shown.rows == [(t["label"], t["prob"]) for t in answer["top_k"]]
            assert shown.uncertain == str(answer["uncertain"]).lower()
        assert httpx.get(f"{url}/upload", timeout=30).status_code == 200
        murky = httpx.post(f"{url}/predict", files={"files": ("m.png", (tmp_path / "murky.png").read_bytes())},
                           timeout=60).json()[0]
        assert murky["uncertain"] is True and murky["threshold"] == 0.9  # the SDK serves the given thresholds

    # Measured after serving, so the bytecode Python wrote on first import counts too.
    sizes = _sizes(site)
    bare = {name for name in sizes if name.split("-")[0].split(".")[0] in
            ("pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils") or name == "__pycache__"}
    runtime = sum(size for name, size in sizes.items() if name not in bare)
    mib = 1024 * 1024
    biggest = sorted(((size, name) for name, size in sizes.items() if name not in bare), reverse=True)[:6]
    report = {"install_seconds": round(install_seconds, 1), "site_packages_mib": round(sum(sizes.values()) / mib, 1),
              "runtime_mib": round(runtime / mib, 1), "venv_own_mib": round(sum(sizes[n] for n in bare) / mib, 1),
              "biggest_mib": {name: round(size / mib, 1) for size, name in biggest}}
    print("\nSDK runtime installed size:", json.dumps(report))
    assert runtime < MAX_INSTALLED_MIB * mib, report
