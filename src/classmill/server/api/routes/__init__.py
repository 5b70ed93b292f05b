"""One router per resource. PUBLIC_ROUTES lists every route reachable without credentials."""

from __future__ import annotations

from classmill.server.api.routes import (auth, batch_tests, datasets, docs, endpoints, health, images, jobs, me,
                                         model_reports, model_tests, models, projects, setup, shares, tasks, tokens,
                                         usage, users, versions)

API_PREFIX = "/api/v1"

# (method, path): the only routes that answer without a login or token (a test enforces it).
PUBLIC_ROUTES = frozenset({
    ("GET", f"{API_PREFIX}/health"),
    ("GET", f"{API_PREFIX}/setup"),
    ("POST", f"{API_PREFIX}/setup"),  # answers 409 once any user exists
    ("POST", f"{API_PREFIX}/auth/login"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
})

api_routers = (health.router, setup.router, auth.router, me.router, tokens.router, users.router, datasets.router,
               versions.router, images.router, jobs.router, projects.router, shares.router, tasks.router,
               model_reports.router,  # first: /models/compare before /models/{id}
               models.router, model_tests.router, batch_tests.router, usage.router, endpoints.router)
page_routers = (docs.router,)
