"""`classmill-serve BUNDLE` / `python -m classmill.serve`: the runtime's command (argparse, no typer)."""

from __future__ import annotations

import json
import subprocess
import sys

from fastapi.testclient import TestClient

from classmill.serve.cli import main


def test_serves_on_loopback_8987_by_default_with_thresholds_from_a_file(colour_bundle, tmp_path, monkeypatch, capsys):
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(app=app, **options))
    thresholds = tmp_path / "t.json"
    thresholds.write_text(json.dumps({"green": 0.7}))
    assert main([str(colour_bundle), "--thresholds", str(thresholds)]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8987/upload" in out and "thresholds for 1" in out
    assert (started["host"], started["port"], started["workers"]) == ("127.0.0.1", 8987, 1)
    with TestClient(started["app"]) as client:
        assert client.get("/model").json()["thresholds"] == {"green": 0.7}
        assert client.get("/upload").status_code == 200


def test_a_user_error_is_one_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.cmb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.cmb" in err and "Traceback" not in err


def test_python_dash_m_classmill_serve_help():
    done = subprocess.run([sys.executable, "-m", "classmill.serve", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "classmill-serve" in done.stdout and "--thresholds" in done.stdout
