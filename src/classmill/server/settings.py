"""The server's settings: defaults here, CLASSMILL_* environment variables over them, CLI flags over both.

The workspace folder holds everything the server owns: the SQLite database (unless
CLASSMILL_DATABASE_URL points elsewhere), the session secret and, later, the image store.
Its default is the per-user data folder of the OS (platformdirs), e.g. ~/.local/share/classmill
on Linux, so a first `classmill server` works from any current directory and never writes into it.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from classmill.errors import ConfigError

ENV_PREFIX = "CLASSMILL_"


def default_workspace() -> Path:
    return Path(platformdirs.user_data_dir("classmill", appauthor=False))


class Settings(BaseSettings):
    """One server's configuration. Every field can be set as CLASSMILL_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    workspace: Path = Field(default_factory=default_workspace, description="folder the server owns")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite inside the workspace; postgresql+psycopg://... for PostgreSQL"
    )
    host: str = Field("127.0.0.1", description="interface to listen on; 0.0.0.0 exposes the server to the network")
    port: int = Field(8000, ge=1, le=65535)
    session_secret: SecretStr | None = Field(
        None, description="key for CSRF tokens; default: a random key created once in the workspace"
    )
    session_days: float = Field(14, gt=0, description="a login cookie is valid this long")
    login_attempts: int = Field(5, ge=1, description="failed logins per username and address before a pause")
    login_window_s: float = Field(300, gt=0, description="the failed-login count covers this many seconds")
    max_upload_bytes: int = Field(5 * 1000**3, ge=1, description="largest upload accepted (a zip or a batch of images), bytes")
    import_roots: list[Path] = Field(default_factory=list, description="folders admins may import datasets from on the server (JSON list)")
    training_jobs: int = Field(1, ge=1, description="training jobs running at once; more wait in a queue")
    light_jobs: int = Field(2, ge=1, description="light jobs (evaluation, export, batch test) running at once, beside training")
    job_heartbeat_s: float = Field(10, gt=0, description="a running job records that it is alive this often, seconds")
    job_heartbeat_timeout_s: float = Field(120, gt=0, description="at start, a running job silent this long counts as gone")
    test_retention_h: float = Field(24, gt=0, description="images of single-image model tests are kept this many hours (to add one to a dataset)")
    endpoint_models: int = Field(8, ge=1, description="published models kept loaded at once; the least recently "
                                 "used is unloaded when another is needed")
    endpoint_stats_flush_s: float = Field(5, gt=0, description="how often the endpoints' request counts and "
                                          "latencies are written to the database, seconds")
    preset_times: Path | None = Field(None, description="the benchmark's preset_times.json (python -m bench writes it "
                                      "beside results.json): the new-task page shows each preset's time measured on "
                                      "this machine; default <workspace>/preset_times.json; none found: no times shown")
    migrate_on_start: bool = Field(True, description="upgrade the database schema when the server starts")
    # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile). Lower only in tests.
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=64)

    @field_validator("workspace")
    @classmethod
    def _absolute_workspace(cls, value: Path) -> Path:
        # "~/cm" from an env file is not expanded by any shell; a relative folder would move with the cwd.
        return value.expanduser().absolute()

    @field_validator("import_roots")
    @classmethod
    def _absolute_roots(cls, value: list[Path]) -> list[Path]:
        return [root.expanduser().absolute() for root in value]

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.workspace / 'classmill.db'}"


def load_settings(**overrides) -> Settings:
    """Settings from the environment with overrides applied; None overrides (unset flags) change nothing."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{err['loc'][0]} (env {ENV_PREFIX}{str(err['loc'][0]).upper()}): {err['msg']}" if err.get("loc") else err["msg"]
            for err in exc.errors()
        )
        raise ConfigError(f"invalid server setting: {problems}. Fix the option or environment variable.") from exc
