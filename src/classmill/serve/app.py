"""create_app: an exported bundle as an HTTP service (the offline SDK). No torch, no CDN."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable, Mapping, Sequence

from fastapi import FastAPI

from classmill import __version__
from classmill.infer import Predictor
from classmill.serve.limits import BodySizeLimit
from classmill.serve.problems import install_problem_handlers
from classmill.serve.routes import info_router, pages_router, prediction_router, upload_router
from classmill.serve.settings import MIB, ServeSettings, load_settings
from classmill.serve.state import STATE_ATTRIBUTE, ServeState

# Multipart boundaries and headers on top of the files themselves.
_MULTIPART_OVERHEAD = 1 * MIB


def body_limit_for(settings: ServeSettings) -> Callable[[str], int]:
    """The byte cap of a request body by path (for BodySizeLimit), wherever the routes are mounted."""

    def limit(path: str) -> int:
        if path.endswith("/predict/batch"):
            return settings.max_zip_bytes + _MULTIPART_OVERHEAD
        return settings.max_file_bytes * settings.max_batch_files + _MULTIPART_OVERHEAD

    return limit


def create_app(
    bundle_path: str | Path,
    *,
    settings: ServeSettings | None = None,
    int8: bool = False,
    providers: Sequence[str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    **limits,
) -> FastAPI:
    """Build the service for one bundle.

    settings: the limits (default: ServeSettings() from CLASSMILL_SERVE_* environment variables);
    thresholds: {class name: threshold} to serve with (default: the bundle's thresholds.json; {}: none);
    limits: ServeSettings fields overriding them (max_upload_mb=..., batch_window_ms=..., ...).
    """
    settings = load_settings(settings, **limits)
    predictor = Predictor.load(bundle_path, int8=int8, providers=providers, max_pixels=settings.max_pixels,
                               thresholds=thresholds)
    state = ServeState(settings)
    state.batcher_for(predictor)
    title = str(predictor.metadata.get("name") or Path(bundle_path).stem)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await state.stop()

    app = FastAPI(
        title=f"classmill: {title}",
        description=f"Image classification with {len(predictor.labels)} classes, served offline by classmill.",
        version=__version__,
        docs_url=None,  # Swagger/ReDoc need a CDN; pages_router serves a self-contained /docs
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.predictor = predictor
    setattr(app.state, STATE_ATTRIBUTE, state)
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, limit_for=body_limit_for(settings))
    app.include_router(pages_router)
    app.include_router(upload_router)
    app.include_router(info_router)
    app.include_router(prediction_router)
    return app
