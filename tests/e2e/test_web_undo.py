"""Undo of dataset edits in headless chromium: relabel two images in the gallery (version 2), press Undo in the
flash (version 3 equals version 1), restore version 2 from the dataset page's versions list after its question
(version 4), and undo that in 简体中文 (version 5)."""

from __future__ import annotations

import re

from support.browser import Screenshots, ask_to_relabel_first_tiles, needs_chromium
from support.server_imports import wait_for_job
from support.sign_digits import sign_digits_zip

pytestmark = needs_chromium

ADMIN, PASSWORD = "admin", "admin-password"
NO_CHANGE = {"added": 0, "removed": 0, "relabelled": 0, "moved": 0}


def _page_labels(page) -> dict[str, str]:
    """File name -> the label its tile shows, for every tile of the gallery page."""
    return page.eval_on_selector_all("li.tile", """tiles => Object.fromEntries(tiles.map(t => [
        t.querySelector('.tile-name').title, t.querySelector('.tile-tags .tag').textContent]))""")


def test_undo_a_relabel_in_the_gallery_and_restore_a_version_from_the_list(browser_page, live_platform, tmp_path):
    from playwright.sync_api import expect

    page, watch = browser_page
    screenshots = Screenshots(tmp_path / "screenshots", prefix="undo")
    api = live_platform.admin_client()
    dataset = api.post("/api/v1/datasets", json={"name": "手语 signs"}).json()
    started = api.post(f"/api/v1/datasets/{dataset['id']}/imports", headers={"Content-Type": "application/zip"},
                       content=sign_digits_zip(tmp_path / "signs.zip", 5, ("0", "1")).read_bytes())
    assert started.status_code == 202, started.text
    assert wait_for_job(api.get, started.json()["id"])["state"] == "succeeded"
    versions = f"/api/v1/datasets/{dataset['id']}/versions"

    page.goto("/login")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/datasets/{dataset['id']}/versions/1/gallery")
    original = _page_labels(page)
    assert sorted(original.values()) == ["0"] * 5 + ["1"] * 5

    # relabel the first two images (of class 0) to 1: version 2, whose flash offers Undo
    ask_to_relabel_first_tiles(page, 2, "1")
    page.get_by_role("button", name="Yes, make the new version").click()
    expect(page).to_have_url(re.compile(r"/versions/2/gallery$"))
    flash = page.get_by_role("status")
    expect(flash).to_contain_text("Version 2 was made from version 1: relabelled 2 image(s) to '1'.")
    relabelled = _page_labels(page)
    assert sum(relabelled[name] != original[name] for name in original) == 2
    screenshots.take(page, "relabelled-with-undo")

    flash.get_by_role("button", name="Undo").click()
    expect(page).to_have_url(re.compile(r"/versions/3/gallery$"))
    expect(flash).to_contain_text("Undone: version 3 has the images, labels and splits of version 1 again. "
                                  "Version 2 stays in the list of versions.")
    expect(flash.get_by_role("button")).to_have_count(0)  # an undo offers no undo of its own
    assert _page_labels(page) == original
    assert api.get(f"{versions}/3/diff", params={"from": 1}).json()["counts"] == NO_CHANGE
    v3 = api.get(f"{versions}/3").json()
    assert v3["summary"] == "restored version 1" and v3["classes"] == ["0", "1"]
    screenshots.take(page, "undone")

    # the versions list: restoring version 2 asks first, then makes version 4 (with an Undo of its own)
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="手语 signs").click()
    table = page.locator("table.versions")
    expect(table.get_by_role("button", name="Restore this version")).to_have_count(2)  # v2 and v1, not the newest
    row = table.get_by_role("row").filter(has=page.get_by_text("v2", exact=True))
    row.get_by_role("button", name="Restore this version").click()
    expect(row).to_contain_text("Make a new version v4 with the images of v2?")
    screenshots.take(page, "restore-confirm")
    row.get_by_role("button", name="Restore", exact=True).click()
    expect(flash).to_contain_text("Version 4 was made from version 3: restored version 2.")
    assert api.get(f"{versions}/4/diff", params={"from": 2}).json()["counts"] == NO_CHANGE

    # 简体中文: the next flash, its Undo, and what it says after
    page.context.add_cookies([{"name": "classmill_lang", "value": "zh_CN", "url": live_platform.url}])
    page.reload()  # the flash was shown once; this restore shows the next one in Chinese
    zh_row = page.locator("table.versions").get_by_role("row").filter(has=page.get_by_text("v1", exact=True))
    zh_row.get_by_role("button", name="恢复此版本").click()
    expect(zh_row).to_contain_text("用 v1 的图片生成新版本 v5？")
    zh_row.get_by_role("button", name="恢复", exact=True).click()
    expect(flash).to_contain_text("已由版本 4 生成版本 5：restored version 1。")
    screenshots.take(page, "zh-restored-with-undo")
    flash.get_by_role("button", name="撤销").click()
    expect(flash).to_contain_text("已撤销：版本 6 重新具有版本 4 的图片、标签和划分。版本 5 仍保留在版本列表中。")
    assert api.get(f"{versions}/6/diff", params={"from": 2}).json()["counts"] == NO_CHANGE
    assert [v["parent_id"] for v in api.get(versions).json()["items"][:2]] == [
        api.get(f"{versions}/5").json()["id"], api.get(f"{versions}/4").json()["id"]]

    assert watch.console_errors == []
    assert watch.foreign_requests == [] and watch.error_pages == []
