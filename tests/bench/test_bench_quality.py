"""`python -m bench quality --tiny` end to end: every cell trained, scored on the held-out part and saved on its
own; the report made from the cells; a second run measures nothing that is already there.

The figures of a tiny run mean nothing; this checks the protocol's plumbing: the classmill runs made the very
split the reference loop read (train, val and test parts), each peer was scored on exactly the test part, and
the reference "at equal input size" ran at the size the default preset resolved to, not at the reference's own.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEERS = ("classmill-fast", "classmill-balanced", "classmill-accurate", "reference", "reference-equal")

pytestmark = pytest.mark.slow


def _quality(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", "quality", "--tiny", "--out", str(out), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=400)


def test_tiny_quality_run_saves_each_cell_and_a_second_run_skips_them(tmp_path, shared_datasets):
    out = tmp_path / "quality"
    run = _quality(out)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    cells = {peer: json.loads((out / "cells" / "casting" / f"{peer}-r0.json").read_text()) for peer in PEERS}
    for peer, cell in cells.items():
        assert cell["status"] == "ok" and cell["tiny"] is True and cell["git_revision"], (peer, cell)
        assert cell["split"]["scored_on_test_part"] is True, peer
        test = cell["test"]
        assert test["images"] == cell["split"]["test_images"] == len(cell["predictions"]["y_true"]) > 0
        assert 0 <= test["top1"] <= 1 and 0 <= test["macro_f1"] <= 1 and 0 <= test["ece"] <= 1
        assert cell["train_wall_s"] > 0 and cell["peak_rss_mb"] > 0
        hits = sum(t == p for t, p in zip(cell["predictions"]["y_true"], cell["predictions"]["y_pred"]))
        assert hits / test["images"] == pytest.approx(test["top1"])
    for preset in ("fast", "balanced", "accurate"):
        cell = cells[f"classmill-{preset}"]
        assert cell["split"]["same_as_peers"] == {"train": True, "val": True, "test": True}
        assert cell["config"]["preset"] == preset and cell["config"]["test"] == 0.25 and "best_epoch" in cell
    balanced_px = cells["classmill-balanced"]["config"]["image_size"]
    assert cells["reference-equal"]["input_px"] == balanced_px != cells["reference"]["input_px"]
    assert "classmill-balanced cell" in cells["reference-equal"]["input_size_from"]

    report = json.loads((out / "quality.json").read_text())
    assert list(report["sets"]["casting"]["peers"]) == list(PEERS)
    assert report["sets"]["casting"]["verdict"]["reference"]["repeats"] == [0]
    markdown = (out / "quality.md").read_text()
    assert "## Verdict" in markdown and "## casting" in markdown and "## Machine" in markdown
    assert "| peer | input px | repeats | test top-1 (min–max) | macro F1 | ECE |" in markdown
    for title in ("classmill fast", "classmill balanced", "classmill accurate", "| reference loop, 64 px",
                  f"| reference loop at the default preset's size, {balanced_px} px"):
        assert title in markdown

    written = {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*.json")}
    again = _quality(out)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "cells measured now: 0, already present (skipped): 5, failed: 0" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*.json")} == written
