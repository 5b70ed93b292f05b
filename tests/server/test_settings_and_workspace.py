"""Settings resolve env and overrides; the workspace gets a private, random, stable secret."""

from __future__ import annotations

import stat
from pathlib import Path

import platformdirs
import pytest

from classmill.errors import ConfigError
from classmill.server.settings import load_settings
from classmill.server.workspace import SECRET_NAME, workspace_secret


def test_defaults_and_environment_and_overrides(monkeypatch, tmp_path):
    for name in ("CLASSMILL_WORKSPACE", "CLASSMILL_DATABASE_URL", "CLASSMILL_PORT", "CLASSMILL_HOST"):
        monkeypatch.delenv(name, raising=False)
    plain = load_settings()
    assert str(plain.workspace) == platformdirs.user_data_dir("classmill", appauthor=False)
    assert plain.resolved_database_url == f"sqlite:///{plain.workspace / 'classmill.db'}"
    assert (plain.host, plain.port) == ("127.0.0.1", 8000)

    monkeypatch.setenv("CLASSMILL_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("CLASSMILL_PORT", "9001")
    from_env = load_settings()
    assert from_env.workspace == tmp_path and from_env.port == 9001
    assert load_settings(port=9002, host=None).port == 9002  # a flag wins; an unset flag changes nothing

    monkeypatch.setenv("CLASSMILL_WORKSPACE", "~/cm-ws")
    assert load_settings().workspace == Path.home() / "cm-ws"
    monkeypatch.chdir(tmp_path)
    assert load_settings(workspace=Path("rel")).workspace == tmp_path / "rel"

    monkeypatch.setenv("CLASSMILL_DATABASE_URL", "postgresql+psycopg://u@db/classmill")
    assert load_settings().resolved_database_url == "postgresql+psycopg://u@db/classmill"


def test_invalid_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("CLASSMILL_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="CLASSMILL_PORT"):
        load_settings()


def test_workspace_secret_is_random_private_and_stable(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    key = workspace_secret(first)
    assert len(key) == 64 and workspace_secret(first) == key  # kept across restarts
    assert workspace_secret(second) != key  # never a constant shared by installs
    assert stat.S_IMODE((first / SECRET_NAME).stat().st_mode) == 0o600
    assert [p.name for p in first.iterdir()] == [SECRET_NAME]  # no temp file left behind


def test_damaged_secret_is_reported(tmp_path):
    (tmp_path / SECRET_NAME).write_text("short")
    with pytest.raises(ConfigError, match="damaged"):
        workspace_secret(tmp_path)


def test_an_unreachable_database_is_a_clear_error(tmp_path):
    from classmill.server.db.migrate import upgrade_database
    from classmill.server.db.session import make_engine

    engine = make_engine("postgresql+psycopg://nobody:hidden@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match="cannot open the database") as caught:
        upgrade_database(engine)
    assert "hidden" not in str(caught.value)  # the password is never printed


def test_a_configured_secret_replaces_the_workspace_file(tmp_path):
    from classmill.server.app import build_state
    from classmill.server.settings import Settings

    state = build_state(Settings(workspace=tmp_path, session_secret="s" * 40))
    assert state.csrf_key == b"s" * 40 and not (tmp_path / SECRET_NAME).exists()
    state.engine.dispose()
