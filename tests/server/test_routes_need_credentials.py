"""Every route answers 401 without credentials (pages: a redirect to setup or login), except the documented
public ones; 4xx share one shape."""

from __future__ import annotations

import re

try:
    from fastapi.routing import iter_route_contexts
except ImportError:
    iter_route_contexts = None
from classmill.server.api.problems import SERVE_PREFIX
from classmill.server.api.routes import API_PREFIX, PUBLIC_ROUTES
from classmill.server.web import PUBLIC_PAGES
from support.server_accounts import assert_problem, set_up_admin

_API_DOCS = ("/docs", "/openapi.json")


def _every_route(app) -> list[tuple[str, str]]:
    # Newer FastAPI keeps included routers as nested objects; iter_route_contexts flattens them.
    # Older versions list every route in app.routes directly.
    routes = iter_route_contexts(app.routes) if iter_route_contexts else app.routes
    found = []
    for route in routes:
        methods = getattr(route, "methods", None) or ()
        found += [(method, route.path) for method in sorted(methods) if method != "HEAD"]
    return found


def test_every_route_but_the_public_ones_needs_credentials(app, client, new_client):
    routes = _every_route(app)
    assert len(routes) >= 17 and len(set(routes)) == len(routes)
    assert PUBLIC_ROUTES <= set(routes), "a documented public route no longer exists"
    assert PUBLIC_PAGES <= set(routes), "a documented public page no longer exists"
    assert {("POST", "/api/v1/projects"), ("PATCH", "/api/v1/projects/{project_id}"),
            ("POST", "/api/v1/datasets/{resource_id}/shares"),
            ("DELETE", "/api/v1/projects/{resource_id}/shares/{username}"),
            ("GET", "/datasets"), ("POST", "/account/tokens")} <= set(routes)
    pages = [(method, path) for method, path in routes
             if not path.startswith((API_PREFIX, SERVE_PREFIX)) and path not in _API_DOCS
             and (method, path) not in PUBLIC_PAGES]  # /serve/...: published models answer like the API
    for method, path in routes:
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = client.request(method, url, follow_redirects=False)
        if (method, path) in PUBLIC_ROUTES:
            assert response.status_code != 401, (method, path)
        elif (method, path) in PUBLIC_PAGES:  # e.g. the login form says "wrong password" with a 401 page
            assert response.status_code < 500, (method, path)
        elif (method, path) in pages:  # a browser is sent to first-run setup while there is no user
            assert (response.status_code, response.headers.get("location")) == (303, "/setup"), (method, path)
        else:
            assert_problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    set_up_admin(client)
    stranger = new_client()
    for method, path in pages:  # ... and to the login page once there is one
        response = stranger.request(method, re.sub(r"\{[^}]+\}", "1", path), follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), (method, path)


def test_routing_and_validation_errors_have_the_error_shape(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_problem(client.delete("/api/v1/health"), 405, "method_not_allowed")
    body = assert_problem(client.post("/api/v1/setup", json={"username": "admin"}), 422, "invalid_request")
    assert "password" in body["detail"]


def test_docs_are_served_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "/api/v1/auth/login" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing loaded from a CDN
    assert "/upload" not in page.text  # the bundle service's page does not exist here
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "classmill platform"
    assert set(schema["components"]["securitySchemes"]) == {"token", "session"}
    assert "security" in schema["paths"]["/api/v1/me"]["get"]
    assert "security" not in schema["paths"]["/api/v1/auth/login"]["post"]
    assert client.get("/api/v1/health").json()["status"] == "ok"
