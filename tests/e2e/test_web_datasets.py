"""The dataset pages in headless chromium: import a zip with the progress bar (a refusal and a cancel first),
read the check report, filter the gallery, step through the lightbox by keyboard, relabel two images.

The zip is a few classes of ../shared/datasets/sign-digits, with class 7's three phone originals that the
check refuses (their JPEG data ends early), so the report lists them with their fix.
"""

from __future__ import annotations

import re

import pytest

from support.browser import Screenshots, needs_chromium, set_up_admin
from support.sign_digits import PHONE_ORIGINALS, sign_digits_zip

pytestmark = needs_chromium

PER_CLASS = 22
ADMIN, PASSWORD = "admin", "admin-password"


@pytest.fixture
def screenshots(tmp_path_factory) -> Screenshots:
    return Screenshots(tmp_path_factory.mktemp("screenshots"), prefix="datasets")


def test_import_report_gallery_lightbox_and_relabel(browser_page, screenshots, tmp_path):
    from playwright.sync_api import expect

    page, watch = browser_page
    upload = sign_digits_zip(tmp_path / "sign-digits.zip", PER_CLASS)
    not_a_zip = tmp_path / "photos.zip"
    not_a_zip.write_bytes(b"these are not the images you are looking for\n" * 10)

    set_up_admin(page, ADMIN, PASSWORD)
    page.get_by_label("Name", exact=True).fill("手语 digits")
    page.get_by_role("button", name="Create dataset").click()
    page.get_by_role("link", name="手语 digits").click()
    expect(page.get_by_role("heading", name=re.compile("手语 digits"))).to_be_visible()
    expect(page.get_by_text("No images yet").first).to_be_visible()
    screenshots.take(page, "empty-dataset")

    # A file that is not a zip: the API's words and fix, in the page.
    page.get_by_label("Zip file").set_input_files(str(not_a_zip))
    page.get_by_role("button", name="Upload and import").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("The import did not happen")
    expect(refusal).to_contain_text("What to do:")
    screenshots.take(page, "rejected-file")

    # The real zip, on a slow link so the bar is seen moving: cancel once, then let it finish.
    progress_seen: list[int] = []
    page.expose_function("reportProgress", lambda value: progress_seen.append(int(value)))
    page.evaluate("""() => {
        const bar = document.querySelector('[role=progressbar]');
        new MutationObserver(() => window.reportProgress(bar.getAttribute('aria-valuenow') || '0'))
            .observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
    }""")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 5, "downloadThroughput": -1,
                                                  "uploadThroughput": 2 * 1024 * 1024})
    page.get_by_label("Zip file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_text("Uploading:")).to_be_visible()
    page.wait_for_function("Number(document.querySelector('[role=progressbar]').getAttribute('aria-valuenow')) >= 10")
    screenshots.take(page, "uploading")
    page.get_by_role("button", name="Cancel upload").click()
    expect(page.get_by_text("Upload cancelled. Nothing was imported.")).to_be_visible()
    partial = max(progress_seen)
    assert 10 <= partial < 100

    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_role("heading", name="Images in version 1")).to_be_visible(timeout=60_000)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    assert 100 in progress_seen[progress_seen.index(partial):], progress_seen  # the bar went to the end
    counts = page.locator("table.counts")
    for label, images in (("0", PER_CLASS), ("1", PER_CLASS), ("7", PER_CLASS)):
        expect(counts.get_by_role("row").filter(has=page.get_by_role("link", name=label, exact=True))).to_contain_text(str(images))
    screenshots.take(page, "dataset")

    # The check report: the three phone originals, refused, with their fix.
    report = page.locator("li.problem").filter(has_text="truncated")
    for name in PHONE_ORIGINALS:
        expect(report).to_contain_text(f"7/{name}")
    expect(report).to_contain_text("copy it again from the original")
    expect(report.get_by_text("not imported")).to_have_count(3)
    report.scroll_into_view_if_needed()
    screenshots.take(page, "check-report")

    # The gallery, filtered to class 7; the lightbox steps with the keyboard.
    page.get_by_role("link", name="Open the gallery").click()
    expect(page.get_by_text(f"Images 1–60 of {3 * PER_CLASS}")).to_be_visible()  # 60 a page
    page.get_by_label("Class", exact=True).first.select_option("7")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(r"label=7"))
    expect(page.locator("li.tile")).to_have_count(PER_CLASS)
    screenshots.take(page, "gallery-class-7")
    first_name = page.locator("li.tile .tile-name").first.get_attribute("title")
    page.locator("li.tile .tile-open").first.click()
    lightbox = page.get_by_role("dialog")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator(".lightbox-position")).to_have_text(f"1 / {PER_CLASS}")
    expect(lightbox.locator(".lightbox-name")).to_have_text(first_name)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(lightbox.locator(".lightbox-position")).to_have_text(f"3 / {PER_CLASS}")
    page.keyboard.press("ArrowLeft")
    expect(lightbox.locator(".lightbox-position")).to_have_text(f"2 / {PER_CLASS}")
    page.get_by_role("button", name="Zoom in").click()
    expect(lightbox.locator(".lightbox-zoom")).to_have_text("200 %")
    page.get_by_role("button", name="Zoom out").click()
    page.wait_for_function("document.querySelector('.lightbox-stage img').naturalWidth > 0")
    screenshots.take(page, "lightbox")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    # Select two, relabel them to "1": a confirmation, then version 2 with 2 images fewer in class 7.
    tiles = page.locator("li.tile")
    tiles.nth(0).get_by_role("checkbox").check()
    tiles.nth(1).get_by_role("checkbox").check()
    expect(page.get_by_text("2 selected", exact=True)).to_be_visible()
    page.get_by_label("Action").select_option("relabel")
    page.locator("#edit-label").select_option("1")
    page.get_by_role("button", name="Apply…").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Relabel 2 selected images to “1”?")
    screenshots.take(page, "relabel-confirm")
    page.get_by_role("button", name="Yes, make the new version").click()
    expect(page).to_have_url(re.compile(r"/versions/2/gallery$"))
    expect(page.get_by_role("status")).to_contain_text("Version 2 was made from version 1: relabelled 2 image(s) to '1'")
    page.get_by_label("Class", exact=True).first.select_option("7")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.locator("li.tile")).to_have_count(PER_CLASS - 2)
    screenshots.take(page, "new-version")

    # The dataset page lists both versions; the diff shows the two relabelled images.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="手语 digits").click()
    versions = page.locator("table.versions")
    expect(versions.get_by_role("row")).to_have_count(3)
    versions.get_by_role("link", name="Changes from v1").click()
    expect(page.get_by_role("heading", name="From v1 to v2")).to_be_visible()
    expect(page.locator(".diff-counts")).to_contain_text("2 relabelled")
    expect(page.locator("section[aria-label=Relabelled] li")).to_have_count(2)
    screenshots.take(page, "diff")

    # 简体中文: the dataset page and the gallery.
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", name="版本 2 的变更")).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="手语 digits").click()
    expect(page.get_by_role("heading", name="检查报告")).to_be_visible()
    screenshots.take(page, "zh-dataset")
    page.get_by_role("link", name="打开图库").click()
    expect(page.get_by_text(f"共 {3 * PER_CLASS} 张")).to_be_visible()
    screenshots.take(page, "zh-gallery")

    # 简体中文: the check report's rule as a title (its code beside it) and its fix; the library's message per file
    page.go_back()
    report = page.locator("li.problem").filter(has_text="truncated")
    expect(report.locator(".problem-title")).to_have_text("图片文件不完整")
    expect(report.locator(".problem-fix")).to_have_text("修正方法： 文件被截断（下载或复制未完成）：请从原件重新复制。")
    expect(report).to_contain_text(f"7/{PHONE_ORIGINALS[0]}")
    expect(report).to_contain_text("the JPEG data ends early")
    expect(page.locator(".report-verdict + p")).to_contain_text("个错误")  # the summary line, worded in Chinese
    report.scroll_into_view_if_needed()
    screenshots.take(page, "zh-check-report")

    # 简体中文: a refused upload in the page's language, the API's own words beneath
    page.get_by_label("Zip 文件").set_input_files(str(not_a_zip))
    page.get_by_role("button", name="上传并导入").click()
    refusal = page.get_by_role("alert").filter(has_text="导入未完成")
    expect(refusal.locator(".error-detail")).to_have_text("上传被拒绝。")
    expect(refusal.locator(".error-fix")).to_contain_text("请发送图片的 .zip 压缩包或图片文件本身，然后重试。")
    expect(refusal.locator(".error-original")).to_contain_text("zip")
    screenshots.take(page, "zh-rejected-file")

    # the two refusals of the not-a-zip upload (answered 400 by the API) are chromium's only complaints
    bad_request = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert watch.console_errors == [bad_request, bad_request]
    assert watch.foreign_requests == [] and watch.requests > 20
