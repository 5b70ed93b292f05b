"""The OpenAPI schema says how to authenticate: a bearer token or the session cookie, on every
route except the public ones, so generated clients and readers of /docs know what to send."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from classmill.server.api.cookies import SESSION_COOKIE
from classmill.server.api.routes import PUBLIC_ROUTES

SECURITY_SCHEMES = {
    "token": {"type": "http", "scheme": "bearer", "description": "a personal API token, cm_..."},
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                "description": "after POST /api/v1/auth/login; unsafe methods also need X-CSRF-Token"},
}


def install_security_schemes(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if (method.upper(), path) not in PUBLIC_ROUTES:
                        operation["security"] = [{"token": []}, {"session": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
