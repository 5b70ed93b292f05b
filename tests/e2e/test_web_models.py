"""Model version pages in headless chromium, as a person uses them: the report (thresholds moved and saved,
a confusion cell opened, mistakes by class), downloads (bundle, SDK), single-image and batch tests, adding a
tested image to the dataset, publishing and calling the endpoint with the page's curl example, comparing two
versions, and the pages in 简体中文.

Two versions come from a tiny task trained through the API (two cifar10-mini classes, one named 汽车, 32 px,
one epoch, ~10 s) and its one-epoch extension; a third is the colour bundle without a report
(support/server_models.py), whose answers are known. No console error and no request off 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
import re
import shlex
import zipfile

import httpx
import pytest

from support.browser import Screenshots, log_in, needs_chromium
from support.images import jpeg_bytes, solid
from support.live_server import ADMIN
from support.server_trained_model import CLASSES, train_tiny_model, wait_task

pytestmark = [*needs_chromium, pytest.mark.slow]


@pytest.fixture
def screenshots(tmp_path_factory) -> Screenshots:
    return Screenshots(tmp_path_factory.mktemp("screenshots"), prefix="models")


def _colour_version(live_platform, project_id: int) -> int:
    from classmill.server.db.session import make_engine, session_factory
    from support.server_models import add_model_version

    engine = make_engine(live_platform.database_url)
    try:
        with session_factory(engine)() as session:
            return add_model_version(session, live_platform.workspace, project_id).id
    finally:
        engine.dispose()


def test_model_pages_report_thresholds_tests_downloads_deploy_compare(live_platform, browser_page, screenshots,
                                                                      tmp_path):
    from playwright.sync_api import expect

    page, watch = browser_page
    api = live_platform.admin_client()
    trained = train_tiny_model(api, tmp_path / "data")
    model_id = trained.model["id"]
    colour_id = _colour_version(live_platform, trained.project_id)
    log_in(page, ADMIN["username"], ADMIN["password"])

    # ---- the report as a page ----
    page.goto(f"/models/{model_id}")
    breadcrumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumbs).to_contain_text("车辆 vehicles")
    expect(breadcrumbs).to_contain_text("tiny")
    expect(page.get_by_role("heading", name="Model version 1")).to_be_visible()
    accuracy = trained.model["metrics"]["val"]["accuracy"]
    expect(page.locator(".metric-card").filter(has_text="Accuracy").first).to_contain_text(f"{accuracy * 100:.1f} %")
    for name in CLASSES:
        expect(page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name)).first).to_be_visible()
    overall = page.locator("[data-overall] [data-stat=answered]")
    n_images = trained.model["metrics"]["val"]["n_images"]
    expect(overall).to_have_text(f"{n_images} / {n_images}")  # the first preview: every answer at threshold 0
    screenshots.take(page, "report")

    # Move 汽车's threshold to the top with the keyboard: the preview follows; save; it persists after reload.
    slider = page.get_by_label("Threshold of 汽车")
    slider.focus()
    page.keyboard.press("End")
    expect(page.locator("tr[data-class='汽车'] output")).to_have_text("1.00")
    expect(page.get_by_text("Not saved yet.")).to_be_visible()
    expect(page.locator("tr[data-class='汽车'] [data-stat=uncertain]")).not_to_have_text("—")
    slider.scroll_into_view_if_needed()
    screenshots.take(page, "thresholds-moved")
    page.get_by_role("button", name="Save as the deployed thresholds").click()
    expect(page.get_by_text("Saved. Tests, the SDK and endpoints use these thresholds now.")).to_be_visible()
    assert api.get(f"/api/v1/models/{model_id}").json()["thresholds"]["汽车"] == 1.0
    page.reload()
    expect(page.get_by_label("Threshold of 汽车")).to_have_value("1")
    page.get_by_role("button", name="Use the suggested thresholds").click()
    page.get_by_role("button", name="Save as the deployed thresholds").click()
    expect(page.get_by_text("Saved.", exact=False)).to_be_visible()
    suggested = trained.model["suggested_thresholds"]
    assert api.get(f"/api/v1/models/{model_id}").json()["thresholds"] == pytest.approx(suggested)

    # A confusion cell opens its images; the mistakes of a class are listed by class.
    report = api.get(f"/api/v1/models/{model_id}/report").json()
    counts = report["confusion_matrix"]["counts"]
    labels = report["confusion_matrix"]["labels"]
    i, j = next((i, j) for i, row in enumerate(counts) for j, count in enumerate(row) if count)
    page.locator(f".cm-cell button[data-true='{labels[i]}'][data-predicted='{labels[j]}']").click()
    panel = page.locator("[data-panel]")
    expect(panel.get_by_role("heading")).to_contain_text(f"{counts[i][j]} images")
    expect(panel.locator(".thumb")).to_have_count(min(counts[i][j], 48))
    panel.scroll_into_view_if_needed()
    screenshots.take(page, "confusion-cell")
    wrong = [group for group in report["misclassified"] if group["total_wrong"]]
    if wrong:
        gallery = page.locator("[data-mistakes]")
        gallery.get_by_role("button", name=re.compile(re.escape(wrong[-1]["true_label"]))).click()
        expect(gallery.locator(".thumb")).to_have_count(min(wrong[-1]["total_wrong"], 48))

    # Downloads: the bundle and the offline SDK are zips.
    for name in ("Model bundle (FP32)", "Offline SDK (zip)"):
        with page.expect_download() as download:
            page.get_by_role("link", name=name).click()
        with zipfile.ZipFile(download.value.path()) as archive:
            assert archive.namelist()

    # INT8 on request: the page follows the export job and shows its accuracy next to FP32's.
    page.get_by_role("button", name="Make the INT8 bundle").click()
    expect(page.get_by_role("link", name="Model bundle (INT8)")).to_be_visible(timeout=120_000)
    int8 = api.get(f"/api/v1/models/{model_id}").json()["int8"]
    expect(page.locator("[data-int8]")).to_contain_text(
        f"INT8 {int8['int8_accuracy'] * 100:.1f} %, FP32 {int8['fp32_accuracy'] * 100:.1f} %")
    with page.expect_download() as download:
        page.get_by_role("link", name="Model bundle (INT8)").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert "model.int8.onnx" in archive.namelist()

    # ---- single-image tests, on the colour bundle (its answers are known) ----
    page.goto(f"/models/{colour_id}")
    expect(page.get_by_text("This version has no evaluation report")).to_be_visible()
    page.get_by_role("link", name="Test", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/models/{colour_id}/test$"))
    screenshots.take(page, "test-empty")
    page.get_by_label("Images to test").set_input_files([
        {"name": "红色.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(solid((64, 64), (220, 20, 20)))},
        {"name": "blue.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(solid((64, 64), (20, 20, 220)))},
        {"name": "not-an-image.jpg", "mimeType": "image/jpeg", "buffer": b"no picture here"}])
    results = page.locator("[data-results] > li")
    expect(results).to_have_count(3)
    red = results.filter(has_text="红色.jpg")
    expect(red.locator(".result-label")).to_have_text("red")
    expect(red.locator(".top5 li")).to_have_count(4)
    expect(results.filter(has_text="blue.jpg").locator(".result-label")).to_have_text("blue")
    expect(results.filter(has_text="not-an-image.jpg").locator(".result-error")).to_be_visible()
    screenshots.take(page, "test-results")
    with page.expect_download() as picture:
        red.get_by_role("link", name="Download the result picture").click()
    assert picture.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Add it to the project's dataset under a corrected label: a new dataset version.
    versions_before = api.get(f"/api/v1/datasets/{trained.dataset_id}/versions").json()["total"]
    red.get_by_label("Add to the dataset with the label").fill("airplane")
    red.get_by_role("button", name="Add to dataset").click()
    expect(red.get_by_text("Added", exact=False)).to_be_visible()
    assert api.get(f"/api/v1/datasets/{trained.dataset_id}/versions").json()["total"] == versions_before + 1

    # ---- a batch test of the trained version: upload with progress, CSV and sorted zip, accuracy ----
    page.goto(f"/models/{model_id}/test")
    batch = tmp_path / "batch.zip"
    with zipfile.ZipFile(batch, "w") as archive:
        for name in CLASSES:
            for k, image in enumerate(sorted((tmp_path / "data" / "images" / name).iterdir())[:3]):
                archive.write(image, f"images/{name}/{k}.jpg")
    page.get_by_label("Zip of images").set_input_files(str(batch))
    page.get_by_role("button", name="Start the batch test").click()
    done = page.locator("[data-done]")
    expect(done).to_be_visible(timeout=60_000)
    expect(done).to_contain_text("6 images")
    expect(done.locator("[data-accuracy]")).to_contain_text("Accuracy against the folder names")
    screenshots.take(page, "batch-test-done")
    with page.expect_download() as predictions:
        done.get_by_role("link", name="Download predictions.csv").click()
    text = predictions.value.path().read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the 中文 names right
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert len(rows) == 6 and {row["true_label"] for row in rows} == set(CLASSES)
    with page.expect_download() as sorted_zip:
        done.get_by_role("link", name="Download sorted.zip").click()
    with zipfile.ZipFile(sorted_zip.value.path()) as archive:
        assert len([n for n in archive.namelist() if n.endswith(".jpg")]) == 6

    # ---- deploy: publish, call it as the curl example says, see the request counted, unpublish ----
    page.get_by_role("link", name="Deploy", exact=True).click()
    expect(page.get_by_text("Not published yet")).to_be_visible()
    page.get_by_label("Endpoint name").fill("Bad Name!")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("alert")).to_contain_text("The endpoint was not published")
    page.get_by_label("Endpoint name").fill("vehicles-v1")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status").first).to_contain_text("is published")
    curl = page.get_by_label(re.compile("Try it")).input_value()
    token = api.post("/api/v1/tokens", json={"name": "endpoint caller"}).json()["token"]
    words = shlex.split(curl.replace("<YOUR_TOKEN>", token))
    url, header = words[-1], words[words.index("-H") + 1]
    image = sorted((tmp_path / "data" / "images" / "汽车").iterdir())[0]
    answer = httpx.post(url, headers=dict([header.split(": ", 1)]),
                        files={"files": (image.name, image.read_bytes(), "image/jpeg")}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()[0]["label"] in CLASSES
    assert httpx.post(url, files={"files": ("x.jpg", b"x", "image/jpeg")}).status_code == 401  # a token is needed
    page.reload()
    expect(page.locator("[data-requests]")).to_have_text(re.compile(r"^[1-9]"))
    screenshots.take(page, "deploy")
    page.get_by_role("button", name="Unpublish").click()
    page.get_by_role("button", name="Yes, unpublish").click()
    expect(page.get_by_text("Not published yet")).to_be_visible()
    assert httpx.post(url, headers=dict([header.split(": ", 1)]),
                      files={"files": (image.name, image.read_bytes(), "image/jpeg")}).status_code == 404

    # ---- compare with version 2 (one more epoch of the same task) ----
    assert api.post(f"/api/v1/tasks/{trained.task_id}/extend", json={"epochs": 1}).status_code == 200
    second = wait_task(api, trained.task_id)["model_versions"][-1]
    page.goto(f"/models/{model_id}")
    page.get_by_label("Compare this version with").select_option(str(second["id"]))
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/models/compare\?a={model_id}&b={second['id']}$"))
    expect(page.get_by_role("heading", name=f"Model v1 compared with v{second['number']}")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="epochs trained")).to_contain_text("1")
    compared = api.get("/api/v1/models/compare", params={"a": model_id, "b": second["id"]}).json()
    for verdict in ("fixed", "broken", "changed"):
        expect(page.locator(f"h3.verdict-{verdict} .count")).to_have_text(str(compared["images"]["counts"][verdict]))
        expect(page.locator(f"h3.verdict-{verdict} + ul .thumb")).to_have_count(len(compared["images"][verdict]))
    screenshots.take(page, "compare")

    # ---- 简体中文 ----
    page.goto(f"/models/{model_id}")
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", name="模型版本 1")).to_be_visible()
    expect(page.get_by_label("汽车 的阈值")).to_be_visible()
    verdict = page.locator("section.verdict p")
    expect(verdict).to_contain_text("准确率")  # the report's findings worded in Chinese, not its English text
    expect(verdict).not_to_contain_text("Accuracy")
    screenshots.take(page, "zh-report")
    page.goto(f"/models/{model_id}/test")
    expect(page.get_by_role("heading", name="批量测试")).to_be_visible()
    screenshots.take(page, "zh-test")

    assert watch.console_errors == []
    assert watch.foreign_requests == []
    # the one page answered with an error: the refused endpoint name
    assert [path for _, path in watch.error_pages] == [f"/models/{model_id}/deploy"]
