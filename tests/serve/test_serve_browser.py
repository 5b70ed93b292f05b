"""The /upload page in headless Debian chromium: pick a file, submit, see the label."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/upload_screenshot.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def page():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        )
        try:
            yield browser.new_page(viewport={"width": 1000, "height": 760})
        finally:
            browser.close()


def test_upload_page_shows_prediction(page, live_server, image_bytes, tmp_path):
    image = tmp_path / "sample.png"
    image.write_bytes(image_bytes("green", "blue"))
    page.goto(f"{live_server}/upload")
    page.wait_for_function("document.getElementById('model-name').textContent === 'colour-test'")
    assert "4 classes" in page.text_content("#model-facts")
    assert page.is_disabled("#submit")
    page.set_input_files("#file", str(image))
    page.click("#submit")
    page.wait_for_selector("#result", state="visible", timeout=15000)
    assert page.text_content("#top-label") == "green"
    assert "% confident" in page.text_content("#top-conf")
    assert page.locator("#topk li").count() == 4
    page.wait_for_function("document.getElementById('result-image').naturalWidth > 0")
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_upload_page_shows_error_with_fix(page, live_server, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("this is not really a picture")
    page.goto(f"{live_server}/upload")
    page.set_input_files("#file", str(bogus))
    page.click("#submit")
    page.wait_for_selector("#error", state="visible", timeout=15000)
    text = page.text_content("#error")
    assert "notes.png" in text and "JPEG" in text
    page.screenshot(path="/tmp/upload_error_screenshot.png", full_page=True)


def test_upload_page_flags_an_uncertain_answer(page, strict_live_server, image_bytes, tmp_path):
    image = tmp_path / "sample.png"
    image.write_bytes(image_bytes("red"))
    page.goto(f"{strict_live_server}/upload")
    assert "thresholds for 4" in page.text_content("#model-facts")
    page.set_input_files("#file", str(image))
    page.click("#submit")
    page.wait_for_selector("#uncertain", state="visible", timeout=15000)
    assert page.text_content("#top-label") == "red"
    assert "below the 100.0% threshold" in page.text_content("#uncertain")
    page.screenshot(path="/tmp/upload_uncertain_screenshot.png", full_page=True)
