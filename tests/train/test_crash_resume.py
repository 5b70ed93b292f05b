"""kill -9 in the middle of an epoch, then --resume: same result as never being killed."""

import json
import os
import signal
import subprocess
import sys

import pytest

from classmill.train import train
from classmill.train.checkpoint import load_checkpoint
from support.training import logged_events, start_cli_training, wait_for

pytestmark = pytest.mark.slow


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tiny_config, tmp_path, tiny_csv):
    config = tiny_config(epochs=3, batch_size=4)
    train(config, tmp_path / "ref")
    run = tmp_path / "run"
    proc = start_cli_training(tiny_csv, run, "--epochs", "3", "--batch-size", "4", "--image-size", "32",
                              "--warmup-epochs", "0", "--workers", "2")

    def in_second_epoch():
        lines = logged_events(run)
        return any(e["type"] == "epoch" for e in lines) and lines[-1]["type"] == "step"

    try:
        assert wait_for(in_second_epoch), proc.stderr.read() if proc.poll() is not None else "timeout"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # Whatever the moment of the kill, the checkpoints on disk are whole.
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["epoch"] == 1 and state["step"] == 0
    load_checkpoint(run / "checkpoints" / "best.pt")
    # Resume as a user does after a crash: a new `classmill train --resume` process.
    resumed = subprocess.run([sys.executable, "-m", "classmill", "train", "--resume", str(run), "--json"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["status"] == "finished"
    ref = json.loads((tmp_path / "ref" / "metrics.json").read_text())["history"]
    got = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in got] == [0, 1, 2, 3]
    for a, b in zip(ref, got):
        for key in ("top1", "f1", "precision", "recall"):
            assert abs(a["val"][key] - b["val"][key]) < 1e-4, (a["epoch"], key)
        # Usually bit-exact. The rare drift (val loss up to 3.2e-4, metrics equal) is not the resume:
        # about 1 training process in 20-40 fits a slightly different probe head from bit-identical
        # features (epoch 0 loss +4.8e-7), uninterrupted runs included, and fine-tuning carries it on.
        assert abs(a["val"]["loss"] - b["val"]["loss"]) < 1e-3, (a["epoch"], "loss")


def test_sigterm_stops_cleanly_with_a_checkpoint(tmp_path, tiny_csv):
    run = tmp_path / "run"
    proc = start_cli_training(tiny_csv, run, "--epochs", "20", "--batch-size", "4", "--image-size", "32")
    assert wait_for(lambda: any(e["type"] == "step" for e in logged_events(run)))
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "stopped"
    assert json.loads((run / "status.json").read_text())["status"] == "stopped"
    load_checkpoint(run / "checkpoints" / "last.pt")
