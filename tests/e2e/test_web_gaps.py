"""Short browser checks of what only the browser does: images dropped into a class (on the drop zone or on
the class's row: upload, import job, reload into the new version), the split dialog, and the 404 page."""

from __future__ import annotations

import base64
import re

from support.browser import Screenshots, needs_chromium
from support.server_imports import class_zip, small_jpegs, wait_for_job

pytestmark = needs_chromium

ADMIN, PASSWORD = "admin", "admin-password"

DROP = """([target, label, images]) => {
    const transfer = new DataTransfer();
    images.forEach((data, i) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], `${label}-${i}.jpg`, { type: "image/jpeg" }));
    });
    document.querySelector(target).dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
}"""


def test_drop_images_into_a_class_then_split(browser_page, live_platform, tmp_path):
    from playwright.sync_api import expect

    page, watch = browser_page
    screenshots = Screenshots(tmp_path / "screenshots", prefix="gaps")
    api = live_platform.admin_client()
    dataset = api.post("/api/v1/datasets", json={"name": "车辆"}).json()
    started = api.post(f"/api/v1/datasets/{dataset['id']}/imports", headers={"Content-Type": "application/zip"},
                       content=class_zip(tmp_path, {"bike": 6, "bus": 6}).read_bytes())
    assert started.status_code == 202, (dataset, started.text)
    assert wait_for_job(api.get, started.json()["id"])["state"] == "succeeded"

    page.goto("/login")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/datasets/{dataset['id']}")
    expect(page.get_by_role("heading", name="Images in version 1")).to_be_visible()

    page.get_by_label("Class", exact=True).fill("汽车")
    expect(page.locator(".drop-zone")).to_contain_text("into “汽车”")
    images = [base64.b64encode(data).decode() for data in small_jpegs(6, seed=1)]
    page.evaluate(DROP, [".drop-zone", "汽车", images])
    expect(page.get_by_role("heading", name="Images in version 2")).to_be_visible(timeout=30_000)
    expect(page.locator("table.counts")).to_contain_text("汽车")
    screenshots.take(page, "dropped-into-class")
    # files dropped on a class's row in the counts table go into that class
    fresh = [base64.b64encode(data).decode() for data in small_jpegs(3, seed=2)]
    page.evaluate(DROP, ["tr[data-label=bus]", "bus", fresh])
    expect(page.get_by_role("heading", name="Images in version 3")).to_be_visible(timeout=30_000)
    expect(page.locator("tr[data-label=bus] td").last).to_have_text("9")

    page.get_by_role("button", name="Split train / val / test…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Val share, percent").fill("150")
    dialog.get_by_role("button", name="Split into a new version").click()
    expect(page.get_by_role("dialog")).to_contain_text("The images were not split")  # reopened with the refusal
    screenshots.take(page, "split-refused")
    page.get_by_role("dialog").get_by_label("Val share, percent").fill("20")
    page.get_by_role("dialog").get_by_role("button", name="Split into a new version").click()
    expect(page.get_by_role("status")).to_contain_text("Version 4 was made from version 3")
    expect(page.get_by_role("columnheader", name="Val")).to_be_visible()

    page.goto("/no/such/page")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.get_by_role("link", name="Back to the start page").click()
    expect(page).to_have_url(re.compile(r"/datasets$"))
    page.context.add_cookies([{"name": "classmill_lang", "value": "zh_CN", "url": live_platform.url}])
    page.goto("/no/such/page")
    expect(page.get_by_text("此地址没有页面。")).to_be_visible()
    screenshots.take(page, "zh-not-found")

    assert watch.console_errors == []  # a refused page's own status is not an error of the page
    assert [status for status, _ in watch.error_pages] == [422, 404, 404]
    assert watch.foreign_requests == []
