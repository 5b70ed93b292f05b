"""The service's routes as APIRouters: `prediction` and `info` can be mounted by another app
(with its own get_predictor); `upload` (the page to try a model on) can too; `pages` belongs to
the standalone service."""

from classmill.serve.routes.info import router as info_router
from classmill.serve.routes.pages import router as pages_router
from classmill.serve.routes.predict import router as prediction_router
from classmill.serve.routes.upload import router as upload_router

__all__ = ["info_router", "pages_router", "prediction_router", "upload_router"]
