"""Honest run states: a lock while a process owns a run, a heartbeat, `interrupted`, `failed`, `status`."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from classmill.errors import DatasetError, RunStateError
from classmill.train import extend, resume, train
from classmill.train import ownership
from classmill.train.config import TrainConfig
from classmill.train.control import request
from classmill.train.failure import failure_reason
from classmill.train.ownership import owned_run
from classmill.train.run_dir import RunDirectory
from classmill.train.run_status import describe_run
from support.training import logged_events, start_cli_training, wait_for


def _cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "classmill", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture()
def run_folder(tmp_path):
    """A run folder as far as ownership cares: a config.yaml (no training needed)."""
    run = RunDirectory(tmp_path / "run")
    run.root.mkdir()
    TrainConfig(data="images/", batch_size=16, image_size=64).save(run.config)
    return run


def _iso(seconds_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).isoformat(timespec="seconds")


# --- not a run: refused, nothing written -------------------------------------------------------------

def test_stop_of_a_folder_that_is_not_a_run_writes_nothing(tmp_path):
    typo = tmp_path / "typo"
    result = _cli("stop", typo)
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not typo.exists()
    (tmp_path / "plain").mkdir()
    with pytest.raises(RunStateError, match="not a classmill run"):
        request(tmp_path / "plain", "pause")
    assert list((tmp_path / "plain").iterdir()) == []


def test_stop_says_when_the_run_is_not_running(run_folder):
    run_folder.set_status("finished", epoch=2, epochs=2)
    with pytest.raises(RunStateError, match=r"not running \(status: finished\)"):
        request(run_folder.root, "stop")
    assert not (run_folder.root / "control.json").exists()


def test_resume_and_extend_of_a_folder_that_is_not_a_run_say_so(tmp_path):
    (tmp_path / "plain").mkdir()
    for call in (lambda p: resume(p), lambda p: extend(p, 2)):
        with pytest.raises(RunStateError, match="not a classmill run"):
            call(tmp_path / "plain")
        with pytest.raises(RunStateError, match="does not exist"):
            call(tmp_path / "missing")
    assert list((tmp_path / "plain").iterdir()) == [] and not (tmp_path / "missing").exists()


def test_extend_of_an_interrupted_run_says_to_resume_it_first(run_folder):
    run_folder.last.parent.mkdir()
    run_folder.last.write_bytes(b"")  # refused before the checkpoint is read
    run_folder.set_status("running", epoch=1, epochs=3, owner={"pid": 1, "host": ownership.this_host()})
    with pytest.raises(RunStateError, match=r"not finished \(status: interrupted\).*--resume"):
        extend(run_folder.root, 2)


def test_status_loads_no_torch(run_folder):
    # `classmill status` is polled (by people and the platform): it must stay instant.
    script = ("import sys; from classmill.train.run_status import describe_run; import classmill.commands.status; "
              f"describe_run({str(run_folder.root)!r}); print(sorted(m for m in ('torch', 'timm') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- the lock ---------------------------------------------------------------------------------------

_HOLD_LOCK = """
import sys, time
from pathlib import Path
from classmill.train.ownership import owned_run
from classmill.train.run_dir import RunDirectory
with owned_run(RunDirectory(Path(sys.argv[1]))) as owner:
    owner.start()
    print("held", flush=True)
    time.sleep(300)
"""


def test_a_second_process_cannot_train_into_a_held_run_until_its_owner_dies(run_folder, tiny_config):
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(run_folder.root)], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout.readline().strip() == "held"
        for call in (lambda: resume(run_folder.root), lambda: train(tiny_config(), run_folder.root)):
            with pytest.raises(RunStateError, match=f"in use: process {holder.pid} on ") as excinfo:
                call()
            assert f"classmill stop {run_folder.root}" in str(excinfo.value)
        status = run_folder.effective_status()
        assert status["status"] == "running" and status["owner"]["pid"] == holder.pid
        request(run_folder.root, "stop")  # a live owner can be asked to stop
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # kill -9 leaves "running" in status.json; the kernel dropped the lock, so it reads as interrupted...
    assert run_folder.status()["status"] == "running"
    assert run_folder.effective_status()["status"] == "interrupted"
    with owned_run(run_folder):  # ...and a dead owner blocks nobody
        pass


def test_a_run_owned_on_another_machine_lives_as_long_as_its_heartbeat(run_folder):
    owner = {"pid": 4242, "host": "other-machine", "started_at": _iso(3600)}
    run_folder.set_status("running", epoch=1, epochs=5, owner={**owner, "heartbeat_at": _iso(5)})
    assert run_folder.effective_status()["status"] == "running"
    with pytest.raises(RunStateError, match="in use: process 4242 on other-machine"):
        with owned_run(run_folder):
            pass
    run_folder.set_status("running", epoch=1, epochs=5, owner={**owner, "heartbeat_at": _iso(3 * 60)})
    assert run_folder.effective_status()["status"] == "interrupted"
    assert describe_run(run_folder.root)["next"] == f"classmill train --resume {run_folder.root}"


def test_the_heartbeat_advances_and_never_undoes_a_final_status(run_folder, monkeypatch):
    monkeypatch.setattr(ownership, "HEARTBEAT_SECONDS", 0.1)
    with owned_run(run_folder) as owner:
        owner.start()
        first = run_folder.status()["owner"]["heartbeat_at"]
        assert wait_for(lambda: run_folder.status()["owner"]["heartbeat_at"] != first, timeout=5)
        run_folder.set_status("finished", epoch=5, epochs=5)
        time.sleep(0.5)
        assert run_folder.status()["status"] == "finished" and run_folder.status()["owner"]["pid"] == os.getpid()


# --- failures ----------------------------------------------------------------------------------------

def test_an_exception_records_failed_with_a_plain_reason(run_folder):
    config = TrainConfig.load(run_folder.config)
    with pytest.raises(DatasetError):
        with owned_run(run_folder) as owner:
            owner.start(config)
            raise DatasetError("images/cat/1.jpg cannot be read: re-export it, or train with --skip-invalid")
    status = run_folder.effective_status()
    assert status["status"] == "failed" and status["error"] == "DatasetError" and status["kind"] == "user_error"
    assert status["reason"] == "images/cat/1.jpg cannot be read: re-export it, or train with --skip-invalid"
    with pytest.raises(KeyboardInterrupt):
        with owned_run(run_folder) as owner:
            owner.start(config)
            raise KeyboardInterrupt
    assert run_folder.effective_status()["status"] == "interrupted"
    assert "last checkpoint" in run_folder.status()["reason"]


def test_a_refusal_before_the_start_records_nothing(tmp_path):
    run = RunDirectory(tmp_path / "new")
    with pytest.raises(RunStateError):
        with owned_run(run, create=True):
            raise RunStateError("refused")
    assert not run.root.exists()  # the folder made for the run goes again, lock file and all


def test_unexpected_errors_name_their_class_and_the_way_back():
    reason = failure_reason(ValueError("boom"))
    assert "ValueError: boom" in reason and "resume" in reason
    reason = failure_reason(MemoryError(), TrainConfig(batch_size=64, image_size=224))
    assert "--batch-size 64" in reason and "--image-size 224" in reason


@pytest.mark.slow
def test_out_of_memory_in_training_fails_the_run_with_a_smaller_batch_hint(tiny_config, tmp_path):
    run = tmp_path / "run"

    def run_out_of_memory(event):
        if event["type"] == "step":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    with pytest.raises(RuntimeError, match="out of memory"):
        train(tiny_config(epochs=1, batch_size=8, head_warmup_steps=0), run, callbacks=(run_out_of_memory,))
    info = describe_run(run)
    assert info["status"] == "failed" and info["kind"] == "out_of_memory" and info["error"] == "RuntimeError"
    assert "--batch-size 8" in info["reason"] and "GPU memory" in info["reason"]
    assert info["next"] is None  # a resume would reuse the sizes that ran out
    result = _cli("status", run)
    assert result.returncode == 0 and "failed" in result.stdout and "smaller --batch-size" in result.stdout


# --- kill -9 of a real training ----------------------------------------------------------------------

@pytest.mark.slow
def test_a_killed_training_reads_interrupted_in_status(tiny_csv, tiny_config, tmp_path):
    run = tmp_path / "run"
    proc = start_cli_training(tiny_csv, run, "--epochs", "50", "--batch-size", "4", "--image-size", "32")
    try:
        assert wait_for(lambda: any(e["type"] == "step" for e in logged_events(run))), \
            proc.stderr.read() if proc.poll() is not None else "timeout"
        live = describe_run(run)
        assert live["status"] == "running" and live["owner"]["pid"] == proc.pid and live["heartbeat_age_s"] < 60
        assert live["next"] == f"classmill stop {run}"
        # A real concurrent training is refused as well, before it writes anything.
        with pytest.raises(RunStateError, match=f"in use: process {proc.pid}"):
            resume(run)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert json.loads((run / "status.json").read_text())["status"] == "running"  # what kill -9 leaves
    assert RunDirectory(run).effective_status()["status"] == "interrupted"
    shown = _cli("status", run)
    assert shown.returncode == 0, shown.stderr
    assert "interrupted (status.json says running, but its process is gone)" in shown.stdout
    assert f"classmill train --resume {run}" in shown.stdout and str(proc.pid) in shown.stdout
    as_json = json.loads(_cli("status", run, "--json").stdout)
    assert as_json["status"] == "interrupted" and as_json["epochs"] == 50
    assert as_json["epoch"] >= 1 or as_json["step"] >= 1  # progress from events.jsonl, wherever the kill landed
