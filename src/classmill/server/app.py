"""create_app(settings): the platform server as a FastAPI app."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from classmill import __version__
from classmill.infer.predictor import usable_cores
from classmill.server.api.openapi import install_security_schemes
from classmill.server.api.problems import install_server_problem_handlers
from classmill.server.api.routes import API_PREFIX, api_routers, page_routers
from classmill.server.api.serving import mount_endpoints
from classmill.server.api.uploads import body_limits
from classmill.server.db.migrate import upgrade_database
from classmill.server.db.session import make_engine, session_factory
from classmill.server.login_limits import LoginLimiter
from classmill.server.jobs.executor import LIGHT, TRAINING
from classmill.server.jobs.local import LocalExecutor
from classmill.server.serving.predictors import PredictorCache
from classmill.server.serving.runtime import ServingRuntime
from classmill.server.services import jobs
from classmill.server.services.housekeeping import remove_orphan_files
from classmill.server.services.batch_tests import remove_orphan_batch_folders
from classmill.server.services.imports import reconcile_imports
from classmill.server.services.passwords import Passwords
from classmill.server.services.version_export import remove_stale_exports
from classmill.server.settings import Settings
from classmill.server.state import STATE_ATTRIBUTE, ServerState
from classmill.server.store.layout import StoreLayout
from classmill.server.store.tested_images import TestedImages
from classmill.server.web import static_files, web_routers
from classmill.server.web.error_pages import install_page_error_handlers
from classmill.server.web.static import STATIC_PREFIX
from classmill.server.workspace import prepare_workspace, workspace_secret
from classmill.serve.decode_pool import DecodePool
from classmill.serve.limits import BodySizeLimit
from classmill.serve.settings import ServeSettings, load_settings as load_serve_settings


def build_state(settings: Settings, serve_settings: ServeSettings | None = None) -> ServerState:
    """Everything the app shares, made once: the workspace exists and its secret is read here.

    serve_settings: the published endpoints' limits (default: from CLASSMILL_SERVE_* variables, as
    `classmill serve` reads them).
    """
    prepare_workspace(settings.workspace)
    secret = settings.session_secret.get_secret_value().encode() if settings.session_secret else None
    engine = make_engine(settings.resolved_database_url)
    sessions = session_factory(engine)
    return ServerState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        passwords=Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        login_limiter=LoginLimiter(settings.login_attempts, settings.login_window_s),
        csrf_key=secret or workspace_secret(settings.workspace),
        layout=StoreLayout(settings.workspace),
        executor=local_executor(settings, sessions),
        tested_images=TestedImages(StoreLayout(settings.workspace).model_tests, settings.test_retention_h * 3600),
        decode_pool=DecodePool(usable_cores()),
        serving=ServingRuntime(serve_settings or load_serve_settings(), PredictorCache(settings.endpoint_models),
                               settings.endpoint_stats_flush_s),
    )


def local_executor(settings: Settings, sessions, *, extra_env: dict[str, str] | None = None, **options) -> LocalExecutor:
    """The embedded executor: job processes get the database and heartbeat settings through their environment."""
    def on_exit(job_id: int, attempt: str, code: int | None, requested: str | None) -> None:
        with sessions() as session:
            jobs.record_exit(session, settings.workspace, job_id, attempt, code, requested)

    env = {"CLASSMILL_DATABASE_URL": settings.resolved_database_url,
           "CLASSMILL_JOB_HEARTBEAT_S": str(settings.job_heartbeat_s), **(extra_env or {})}
    limits = {TRAINING: settings.training_jobs, LIGHT: settings.light_jobs}
    return LocalExecutor(settings.workspace, limits, on_exit, env=env, **options)


def _reconcile(state: ServerState) -> None:
    with state.sessions() as session:
        reconcile_imports(session, state.layout, state.settings.job_heartbeat_timeout_s, state.executor)
        jobs.reconcile_jobs(session, state.executor, state.settings.workspace, state.settings.job_heartbeat_timeout_s)
        remove_orphan_files(session, state.settings.workspace)
        remove_orphan_batch_folders(session, state.layout)
    remove_stale_exports(state.layout)
    state.tested_images.sweep()


def create_app(settings: Settings, *, serve_settings: ServeSettings | None = None) -> FastAPI:
    """The platform server; serve_settings: the published endpoints' limits (default CLASSMILL_SERVE_*)."""
    state = build_state(settings, serve_settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.migrate_on_start:
            await run_in_threadpool(upgrade_database, state.engine)
        await run_in_threadpool(_reconcile, state)
        flusher = asyncio.create_task(state.serving.flush_periodically(state.sessions), name="endpoint-stats")
        yield
        flusher.cancel()
        with suppress(asyncio.CancelledError):
            await flusher
        await run_in_threadpool(state.serving.flush_stats, state.sessions)  # the last requests' counts
        await state.serving.stop()
        await run_in_threadpool(state.executor.shutdown)  # job processes live on; the next start re-attaches them
        state.decode_pool.shutdown()
        state.engine.dispose()

    app = FastAPI(
        title="classmill platform",
        description="The classmill platform: accounts, datasets, projects, training tasks, model versions and "
                "published endpoints (/serve/{name}/predict).",
        version=__version__,
        docs_url=None,  # Swagger/ReDoc need a CDN; /docs is self-contained
        redoc_url=None,
        lifespan=lifespan,
    )
    setattr(app.state, STATE_ATTRIBUTE, state)
    install_server_problem_handlers(app)
    install_page_error_handlers(app)  # a browser's unknown page address gets a page, the API its JSON
    mount_endpoints(app, state)  # before the body limit, which then runs first (the last added is outermost)
    # No body is read whole before its size is known to be allowed (the offline service's middleware).
    app.add_middleware(BodySizeLimit, **body_limits(settings.max_upload_bytes, state.serving.settings))
    for router in api_routers:
        app.include_router(router, prefix=API_PREFIX)
    for router in (*page_routers, *web_routers):
        app.include_router(router)
    app.mount(STATIC_PREFIX, static_files(), name="static")
    install_security_schemes(app)
    return app
