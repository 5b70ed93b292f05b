"""The web UI: server-rendered pages (Jinja2, htmx, Alpine.js) over the same services as the REST API.

create_app mounts `web_routers` and the static files (static_files()); templates/ holds one
template per page plus shared partials, i18n/ the message catalogs (English is the source text).
"""

from classmill.server.web.routes import PUBLIC_PAGES, web_routers
from classmill.server.web.static import static_files

__all__ = ["PUBLIC_PAGES", "static_files", "web_routers"]
