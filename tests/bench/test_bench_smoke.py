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
                         cwd=ROOT, capture_output=True, text=True, timeout=260)
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
    assert results["server"]["backends"]["sqlite"]["token_call"]["status"] == "ok"
    assert results["endpoint"]["status"] == "ok", results["endpoint"]
    for section in ("## Machine", "## Training", "## Inference", "## Validation / import speed", "## Platform server",
                    "## Published endpoint vs `classmill serve`", "## Peak memory", "## Not measured / failed"):
        assert section in markdown


def test_tiny_server_benchmark_measures_what_the_server_has_and_names_the_rest(tmp_path):
    """`python -m bench server --tiny`: a real server per database; routes not built yet are reported, not faked."""
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "bench", "server", "--tiny", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert set(results) >= {"server", "machine"} and "train" not in results
    assert results["server"]["upload"]["images"] == results["plan"]["server_images"]
    for backend in ("sqlite", "postgresql"):
        measured = results["server"]["backends"][backend]
        assert measured["status"] == "ok", measured
        for name in ("login", "token_call"):
            assert measured[name]["status"] == "ok" and measured[name]["latency_ms_p50"] > 0, measured[name]
        for name in ("import", "gallery", "thumbnail"):
            assert measured[name]["status"] in ("ok", "not available yet"), measured[name]
        if measured["import"]["status"] == "ok":
            assert measured["import"]["images_per_s"] > 0 and measured["import"]["peak_rss_mb"] > 0
        assert measured["peak_rss_mb"] > 0
    markdown = (out / "results.md").read_text()
    assert "## Platform server" in markdown and "| sqlite |" in markdown and "| postgresql |" in markdown


def test_tiny_endpoint_benchmark_trains_publishes_and_loads_both_services(tmp_path):
    """`python -m bench endpoint --tiny`: the platform trains and publishes; the endpoint and `classmill serve`
    answer every request, and the endpoint's own statistics count every request sent to it."""
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "bench", "endpoint", "--tiny", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    endpoint = json.loads((out / "results.json").read_text())["endpoint"]
    assert endpoint["status"] == "ok", endpoint
    for target in ("serve", "endpoint"):
        assert endpoint[target]["failed_requests"] == 0 and endpoint[target]["requests_per_s_median"] > 0
    counted = endpoint["endpoint_statistics"]
    assert counted["request_count"] == counted["requests_sent"] and counted["error_count"] == 0
    assert "## Published endpoint vs `classmill serve`" in (out / "results.md").read_text()
