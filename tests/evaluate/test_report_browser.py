"""report.html opened in a real (headless Debian) chromium: no errors, nothing fetched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classmill.evaluate import build_report

from .conftest import make_images

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)")
def test_report_opens_offline_without_errors(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    rng = np.random.default_rng(7)
    n, names = 120, ["ok", "scratch", "dent", "stain"]
    y_true = rng.integers(0, len(names), n)
    logits = rng.normal(size=(n, len(names)))
    logits[np.arange(n), y_true] += 2.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    paths = make_images(tmp_path / "images", n)
    report = build_report(
        y_true, probs, names, tmp_path / "report", image_paths=paths,
        provenance={"model": "tiny", "split": "test"}, target_recall=0.9, positive_class="scratch",
    )

    console_errors, failed, fetched = [], [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.on("request", lambda request: fetched.append(request.url))
            page.goto(report.html_path.resolve().as_uri(), wait_until="load")
            broken_images = page.evaluate(
                "Array.from(document.images).filter(img => !img.complete || img.naturalWidth === 0).length"
            )
            n_images = page.evaluate("document.images.length")
            assert page.locator("#confusion-matrix").count() == 1
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()

    assert console_errors == []
    assert failed == []
    assert all(url.startswith(("file:", "data:")) for url in fetched), fetched
    assert n_images >= 5 and broken_images == 0
    assert (tmp_path / "report.png").stat().st_size > 10_000
