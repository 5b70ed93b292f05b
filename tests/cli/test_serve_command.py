"""`classmill serve BUNDLE`: builds the service for the bundle and announces its upload page."""

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from classmill.cli import app

runner = CliRunner()


def test_serve_help():
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output and "--int8" in result.output


def test_serve_builds_the_app_and_prints_the_upload_url(tiny_bundle, monkeypatch):
    import uvicorn

    started = {}
    # Capture what would be served instead of blocking on a real server.
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(app=app, **options))
    result = runner.invoke(app, ["serve", str(tiny_bundle), "--port", "9123", "--int8"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:9123/upload" in result.output
    assert started["host"] == "127.0.0.1" and started["port"] == 9123
    with TestClient(started["app"]) as client:
        assert client.get("/upload").status_code == 200
        health = client.get("/health").json()
        assert health["int8"] is True and health["classes"] == 3


def test_serve_refuses_a_missing_bundle_before_announcing_an_address(tmp_path):
    from classmill.errors import UserError

    result = runner.invoke(app, ["serve", str(tmp_path / "missing.cmb")])
    assert isinstance(result.exception, UserError) and "http://" not in result.output


def test_wildcard_host_is_announced_as_loopback():
    from classmill.commands.serve import service_url  # re-exported from classmill.serve.address

    assert service_url("0.0.0.0", 8987) == "http://127.0.0.1:8987/upload"
    assert service_url("::1", 80, "/docs") == "http://[::1]:80/docs"


def test_serve_thresholds_file_is_checked_before_announcing_and_then_served(tiny_bundle, tmp_path, monkeypatch):
    import json

    import uvicorn

    from classmill.errors import UserError

    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"bird": 2}')
    result = runner.invoke(app, ["serve", str(tiny_bundle), "--thresholds", str(wrong)])
    assert isinstance(result.exception, UserError) and "between 0 and 1" in str(result.exception)
    assert "http://" not in result.output
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"bird": 0.75}))
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(app=app, **options))
    result = runner.invoke(app, ["serve", str(tiny_bundle), "--thresholds", str(good)])
    assert result.exit_code == 0 and "thresholds for 1" in result.output, result.output
    with TestClient(started["app"]) as client:
        assert client.get("/model").json()["thresholds"] == {"bird": 0.75}
