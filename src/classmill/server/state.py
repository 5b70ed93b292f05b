"""What every request of one app shares: settings, database, password hasher, login limiter, CSRF key,
the job executor, the model tests' image area and decode pool, and the published endpoints' runtime."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from classmill.serve.decode_pool import DecodePool
from classmill.server.jobs.executor import Executor
from classmill.server.login_limits import LoginLimiter
from classmill.server.serving.runtime import ServingRuntime
from classmill.server.services.passwords import Passwords
from classmill.server.settings import Settings
from classmill.server.store.layout import StoreLayout
from classmill.server.store.tested_images import TestedImages

STATE_ATTRIBUTE = "classmill"  # app.state.classmill


@dataclass(frozen=True)
class ServerState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    passwords: Passwords
    login_limiter: LoginLimiter
    csrf_key: bytes
    layout: StoreLayout
    executor: Executor  # runs every job: imports, training, batch tests, INT8 exports
    tested_images: TestedImages  # single-image tests, kept settings.test_retention_h
    decode_pool: DecodePool  # model tests decode here: a few at a time across all requests
    serving: ServingRuntime  # published endpoints: loaded models, serve limits, request statistics
