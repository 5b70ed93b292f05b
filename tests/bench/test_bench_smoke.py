"""The benchmark runner works end to end: `python -m bench all --tiny` in seconds, on tiny data.

The figures of a tiny run mean nothing; this checks that every group runs and that both result
files come out with their sections. It installs nothing: Ultralytics is used only if the
benchmark's own environment already has it.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_tiny_benchmark_writes_every_section(tmp_path, shared_datasets):
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "bench", "all", "--tiny", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    results = json.loads((out / "results.json").read_text())
    assert results["plan"]["tiny"] is True
    assert results["machine"]["cores"] >= 1 and "avx512_bf16" in results["machine"]["cpu_flags"]
    peers = results["train"]["datasets"]["casting"]["peers"]
    for name in ("classmill-balanced", "reference"):
        assert peers[name]["status"] == "ok", peers[name]
        assert peers[name]["epochs"] and peers[name]["peak_rss_mb"] > 0
    assert peers["classmill-balanced"]["same_split_as_peers"] is True
    assert peers["ultralytics"]["status"] in ("ok", "skipped")
    infer = results["infer"]
    assert infer["status"] == "ok", infer
    assert infer["onnxruntime"]["torch_imported"] is False
    assert set(infer["onnxruntime"]["variants"]) == {"fp32", "int8"}
    assert infer["torch_eager"]["throughput_img_s_median"] > 0
    assert infer["serving"]["failed_requests"] == 0
    assert results["validate"]["peers"]["classmill_check"]["images_per_s_median"] > 0

    markdown = (out / "results.md").read_text()
    for section in ("## Machine", "## Training", "## Inference", "## Validation / import speed", "## Peak memory",
                    "## Not measured / failed"):
        assert section in markdown
