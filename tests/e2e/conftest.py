"""Browser journeys against the real server (`python -m classmill server`) on a loopback port."""

from __future__ import annotations

import pytest

from support.browser import CHROMIUM, CHROMIUM_ARGS, LAPTOP, PageWatch
from support.live_server import LiveServer


@pytest.fixture
def live_platform(tmp_path):
    server = LiveServer(tmp_path / "workspace", f"sqlite:///{tmp_path / 'classmill.db'}").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser_page(live_platform):
    """A fresh browser page on the live server at 1366x768, with its watch (console errors, foreign requests)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=LAPTOP, base_url=live_platform.url, locale="en-US")
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_platform.url)
            page = context.new_page()
            page.set_default_timeout(15_000)
            watch = PageWatch()
            watch.attach(page)
            yield page, watch
        finally:
            browser.close()
