"""torchrun with 2 CPU processes (gloo): the same CLI, one run folder, written by rank 0 only."""

import json
import socket
import subprocess
import sys

import pytest

from classmill.train import load_trained_model

pytestmark = pytest.mark.slow


def test_torchrun_two_cpu_processes(tiny_csv, tmp_path):
    run = tmp_path / "ddp"
    with socket.socket() as sock:  # torchrun's --master_port 0 hangs: pick a free port ourselves
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(port),
           "-m", "classmill", "train", str(tiny_csv), "--out", str(run), "--json", "--epochs", "2",
           "--batch-size", "7", "--image-size", "32", "--workers", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"type": "result"')]
    assert [r["status"] for r in results] == ["finished"]  # rank 0 reports for the job
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    start = events[0]
    assert start["world_size"] == 2
    # One writer: exactly one epoch event per epoch, not one per rank.
    assert [e["epoch"] for e in events if e["type"] == "epoch"] == [1, 2]
    trained = load_trained_model(run)
    assert trained.classes == ["airplane", "automobile", "bird"]
