"""The project, new-task and task pages in headless chromium: a tiny dataset made through the API, a `fast`
task created on the form (tiny options typed into the advanced fields), followed live to done with its curve
drawn and its model version linked; then the same pages in 简体中文.

Also measures how long a training event takes to move the curve: the event's own time (written by the
trainer into events.jsonl) against the browser's clock in the animation frame after the chart took it
(the same machine, the same clock); printed as the median over the events seen.
"""

from __future__ import annotations

import io
import re
import shutil
import statistics
import zipfile
from pathlib import Path

import pytest

from support.browser import Screenshots, log_in, needs_chromium
from support.images import noise
from support.live_server import ADMIN
from support.server_tasks import TINY_TASK_OPTIONS
from support.training import wait_for

pytestmark = needs_chromium

PRESET_TIMES = Path(__file__).parents[2] / "bench" / "results" / "preset_times.json"


@pytest.fixture
def screenshots(tmp_path_factory) -> Screenshots:
    return Screenshots(tmp_path_factory.mktemp("screenshots"), prefix="tasks")


def _tiny_project(live_platform) -> int:
    """Two classes × 20 small images imported as a zip, and a project on them, through the API."""
    with live_platform.admin_client() as api:
        dataset = api.post("/api/v1/datasets", json={"name": "零件 parts"}).json()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for label, seed in (("好 ok", 0), ("坏 ng", 1000)):
                for i in range(20):
                    image = io.BytesIO()
                    noise((40, 40), seed=seed + i).save(image, format="PNG")
                    archive.writestr(f"{label}/{i}.png", image.getvalue())
        started = api.post(f"/api/v1/datasets/{dataset['id']}/imports", content=buffer.getvalue(),
                           headers={"Content-Type": "application/zip"})
        assert started.status_code in (201, 202), started.text
        assert wait_for(lambda: api.get(f"/api/v1/datasets/{dataset['id']}").json()["status"] in ("ready", "failed"), 120)
        assert api.get(f"/api/v1/datasets/{dataset['id']}").json()["status"] == "ready"
        project = api.post("/api/v1/projects", json={"name": "inspection", "dataset_id": dataset["id"]})
        return project.json()["id"]


def test_a_fast_task_from_the_form_to_its_model_version_with_live_curves(live_platform, browser_page, screenshots):
    from playwright.sync_api import expect

    shutil.copy(PRESET_TIMES, live_platform.workspace / "preset_times.json")  # this machine's benchmark figures
    project = _tiny_project(live_platform)
    page, watch = browser_page
    log_in(page, ADMIN["username"], ADMIN["password"])

    page.goto("/projects")
    page.get_by_role("link", name="inspection").click()
    expect(page.get_by_role("heading", name="inspection")).to_be_visible()
    expect(page.get_by_text("No tasks yet")).to_be_visible()
    screenshots.take(page, "project-empty")

    page.get_by_role("link", name="New task").click()
    expect(page.get_by_role("heading", name="New task", exact=True)).to_be_visible()
    expect(page.get_by_label("好 ok")).to_be_checked()
    expect(page.get_by_text("Measured on this machine: about 10 s for 480 images", exact=False)).to_be_visible()
    screenshots.take(page, "new-task")
    page.get_by_label("Task name").fill("first try")
    page.get_by_role("radio", name=re.compile(r"^Fast ")).check()
    page.get_by_text("Advanced options").click()
    # the preset's value is in each field; an out-of-bounds one is caught before sending
    expect(page.locator("#opt-image_size")).to_have_value("")  # unset: chosen from the images when training starts
    expect(page.locator("#opt-image_size")).to_have_attribute("placeholder", "automatic")
    page.locator("#opt-image_size").fill("8")
    page.locator("#opt-image_size").blur()
    expect(page.locator('[data-field-error="image_size"]')).to_have_text("At least 32.")
    screenshots.take(page, "new-task-inline-error")
    for name, value in TINY_TASK_OPTIONS.items():
        if isinstance(value, bool):
            page.locator(f"#opt-{name}").set_checked(value)
        else:
            page.locator(f"#opt-{name}").fill(str(value))
    page.get_by_role("button", name="Create the task and start training").click()

    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    expect(page.get_by_role("status").first).to_contain_text("Task “first try” was created")
    expect(page.locator("[data-state-badge=succeeded]")).to_be_visible(timeout=180_000)
    expect(page.get_by_role("link", name=re.compile(r"Model version v1"))).to_be_visible(timeout=30_000)
    assert int(page.locator('[data-chart="accuracy"]').get_attribute("data-points")) >= 1
    assert int(page.locator('[data-chart="loss"]').get_attribute("data-points")) >= 2
    assert page.locator("[data-chart=loss] canvas").count() == 1
    delays = page.evaluate("window.classmillCurveDelays")
    assert delays, "no training event moved the curve"
    print(f"\ncurve delay: median {1000 * statistics.median(delays):.0f} ms over {len(delays)} events "
          f"(min {1000 * min(delays):.0f}, max {1000 * max(delays):.0f})")
    screenshots.take(page, "task-done")
    page.get_by_text("Log", exact=True).click()
    expect(page.locator(".job-log")).not_to_have_text("Loading…")

    page.get_by_role("link", name="inspection").click()
    expect(page.get_by_role("row").filter(has_text="#1 first try")).to_contain_text("Done")
    expect(page.get_by_role("link", name="v1", exact=True)).to_have_attribute("href", re.compile(r"^/models/\d+$"))
    page.get_by_label("Username").fill("nobody")
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_role("alert")).to_contain_text("There is no user named 'nobody'")
    screenshots.take(page, "project")

    # 简体中文: the new-task and task pages
    page.get_by_role("button", name="简体中文").click()
    page.goto(f"/projects/{project}/tasks/new")
    expect(page.get_by_role("heading", name="新建任务", exact=True)).to_be_visible()
    expect(page.get_by_label("坏 ng")).to_be_checked()
    screenshots.take(page, "zh-new-task")
    page.locator("details.advanced summary").click()  # the options' help, worded per option name
    expect(page.locator("#opt-lr-help")).to_have_text("新分类头的峰值学习率。")
    page.locator("#opt-model").scroll_into_view_if_needed()
    screenshots.take(page, "zh-new-task-options")
    page.goto(f"/projects/{project}")
    page.get_by_role("link", name="#1 first try").click()
    expect(page.locator("[data-state-badge=succeeded]")).to_have_text("完成")
    screenshots.take(page, "zh-task")

    assert watch.console_errors == []
    assert watch.error_pages == [(404, f"/projects/{project}/shares")]
    assert watch.foreign_requests == []
