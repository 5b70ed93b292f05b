"""The page routers, one module per area. PUBLIC_PAGES answer without a login (a test enforces it)."""

from __future__ import annotations

from classmill.server.web.routes import (account, admin_users, dataset_import, dataset_pages, dataset_split, datasets,
                                         gallery_pages, model_deploy, models, new_task, project_page, projects,
                                         session_pages, task_page, version_restore)

web_routers = (session_pages.router, account.router, admin_users.router, datasets.router, projects.router,
               dataset_pages.router, gallery_pages.router, project_page.router, new_task.router, task_page.router,
               models.router, model_deploy.router, dataset_split.router, dataset_import.router, version_restore.router)

# (method, path) of the pages that answer without a login; every other page redirects to /login (or /setup).
PUBLIC_PAGES = frozenset({
    ("GET", "/setup"), ("POST", "/setup"),
    ("GET", "/login"), ("POST", "/login"),
    ("POST", "/language"),
})
