"""An admin imports a dataset from a folder under the server's import roots (CLASSMILL_IMPORT_ROOTS), in 简体中文:
a path outside the roots is refused with the translated error, one inside is imported and the page follows it."""

from __future__ import annotations

import json

import pytest

from support.browser import Screenshots, log_in, needs_chromium
from support.images import make_class_folders
from support.live_server import LiveServer

pytestmark = needs_chromium


@pytest.fixture
def live_platform(tmp_path):
    """The live server with one import root (overrides conftest's, which has none)."""
    root = tmp_path / "imports"
    root.mkdir()
    server = LiveServer(tmp_path / "workspace", f"sqlite:///{tmp_path / 'classmill.db'}",
                        env={"CLASSMILL_IMPORT_ROOTS": json.dumps([str(root)])}).start()
    server.import_root = root
    try:
        yield server
    finally:
        server.stop()


def test_import_from_a_server_path_in_chinese(browser_page, live_platform, tmp_path):
    from playwright.sync_api import expect

    page, watch = browser_page
    screenshots = Screenshots(tmp_path / "screenshots", prefix="datasets-server-path")
    root = live_platform.import_root
    make_class_folders(root / "钢材", {"合格": 4, "缺陷": 4})
    make_class_folders(tmp_path / "outside", {"ok": 2, "ng": 2})
    api = live_platform.admin_client()
    dataset = api.post("/api/v1/datasets", json={"name": "钢材 steel"}).json()

    log_in(page, "admin", "admin-password")
    page.context.add_cookies([{"name": "classmill_lang", "value": "zh_CN", "url": live_platform.url}])
    page.goto(f"/datasets/{dataset['id']}")
    form = page.locator("form.server-path-form")
    expect(form).to_contain_text(str(root))

    page.get_by_label("服务器上的路径").fill(str(tmp_path / "outside"))
    page.get_by_role("button", name="从服务器导入").click()
    expect(form.locator(".error-box")).to_contain_text("该路径不在服务器的导入文件夹中。")
    screenshots.take(page, "refused-zh")

    page.get_by_label("服务器上的路径").fill(str(root / "钢材"))
    page.get_by_role("button", name="从服务器导入").click()
    expect(page.locator("table.counts")).to_contain_text("缺陷", timeout=60_000)
    screenshots.take(page, "imported-zh")
    assert watch.console_errors == []  # the refused form's own 403 is not an error of the page
    assert [status for status, _ in watch.error_pages] == [403]
    assert watch.foreign_requests == []
