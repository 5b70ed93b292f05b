"""The project, new-task and task pages in headless chromium: a tiny dataset made through the API, a `fast`
task created on the form (tiny options typed into the advanced fields), followed live to done with its curve
drawn and its model version linked; then the same pages in 简体中文. A second task is paused on its page once
its curve moves and resumed there, to done.

Also measures how long a training event takes to move the curve: the event's own time (written by the
trainer into events.jsonl) against the browser's clock in the animation frame after the chart took it
(the same machine, the same clock); printed as the median over the events seen.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import statistics
import time
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
EPOCHS_TO_PAUSE = 6  # balanced at 32 px on 32 images: seconds of training on an idle 2-core machine, time to pause


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
    # a finished task's page replays its run: the tiles and both curves fill in, as on the live page
    expect(page.locator(".stat-grid dd").first).to_have_text("1 / 1")
    expect(page.locator('[data-chart="loss"]')).not_to_have_attribute("data-points", re.compile(r"^[01]$"))
    expect(page.locator(".stat-grid dd").last).to_contain_text("%")
    screenshots.take(page, "zh-task")

    assert watch.console_errors == []
    assert watch.error_pages == [(404, f"/projects/{project}/shares")]
    assert watch.foreign_requests == []


def test_pause_and_resume_on_the_task_page(live_platform, browser_page, tmp_path):
    """A task long enough to pause (balanced, a few epochs at 32 px): Pause once the curve moves, the page shows
    the paused state and its Resume button; Resume continues from the checkpoint to a model version."""
    from playwright.sync_api import expect

    screenshots = Screenshots(tmp_path / "screenshots", prefix="tasks-pause")
    project = _tiny_project(live_platform)
    options = {**TINY_TASK_OPTIONS, "epochs": EPOCHS_TO_PAUSE, "head_warmup_steps": 0}
    with live_platform.admin_client() as api:
        created = api.post(f"/api/v1/projects/{project}/tasks", json={
            "name": "long run", "dataset_version": 1, "preset": "balanced", "options": options})
        assert created.status_code == 201, created.text
        task = created.json()
    page, watch = browser_page
    log_in(page, ADMIN["username"], ADMIN["password"])
    started = time.monotonic()
    page.goto(f"/tasks/{task['id']}")
    pause, resume = page.get_by_role("button", name="Pause"), page.get_by_role("button", name="Resume")

    expect(page.locator("[data-chart=loss]")).not_to_have_attribute("data-points", "0", timeout=60_000)
    progress_at = time.monotonic() - started
    pause.click()
    ended = page.locator("[data-state-badge=paused]:visible, [data-state-badge=succeeded]:visible")
    expect(ended).to_be_visible(timeout=60_000)
    assert ended.get_attribute("data-state-badge") == "paused", (
        f"the training ended before the pause reached it: make EPOCHS_TO_PAUSE ({EPOCHS_TO_PAUSE}) larger")
    expect(page.locator(".task-status")).to_have_text("Paused at a checkpoint. Resume it to continue from there.")
    expect(resume).to_be_visible()
    expect(pause).to_be_hidden()
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    step_shown = page.locator('.stat-grid dd[x-text="stepText"]')
    expect(step_shown).to_have_text(re.compile(r"^\d+ / \d+$"))  # where Resume continues from
    paused_step = step_shown.text_content()
    # the bar agrees with the epoch and the step (the job's row records the pause's step too)
    epochs_done, epochs = map(int, page.locator('.stat-grid dd[x-text="epochText"]')
                              .text_content().split(" / "))
    step, steps = map(int, paused_step.split(" / "))
    expect(page.locator(".progress-percent")).to_have_text(f"{round(100 * (epochs_done + step / steps) / epochs)} %")
    points_paused = int(page.locator("[data-chart=loss]").get_attribute("data-points"))
    if page.locator("[data-chart=accuracy]").get_attribute("data-points") == "0":  # paused before a validation
        expect(page.get_by_text("The accuracy appears when the first epoch has been validated.")).to_be_visible()
    with live_platform.admin_client() as api:
        paused = api.get(f"/api/v1/tasks/{task['id']}").json()
    assert paused["job"]["state"] == "paused" and paused["model_versions"] == []
    screenshots.take(page, "paused")
    paused_at = time.monotonic() - started

    resume.click()
    expect(page.locator("[data-state-badge=succeeded]")).to_be_visible(timeout=240_000)  # a busy machine is slow
    link = page.get_by_role("link", name=re.compile(r"Model version v1"))
    expect(link).to_be_visible(timeout=30_000)
    expect(resume).to_be_hidden()
    assert int(page.locator("[data-chart=loss]").get_attribute("data-points")) > points_paused  # the curve went on
    assert int(page.locator("[data-chart=accuracy]").get_attribute("data-points")) >= 1
    expect(page.get_by_text("The accuracy appears when the first epoch has been validated.")).to_be_hidden()
    assert page.locator("[data-chart=loss] canvas").count() == 1
    with live_platform.admin_client() as api:
        done = api.get(f"/api/v1/tasks/{task['id']}").json()
    # a second attempt went on from the pause's checkpoint (not from the start) to the last epoch
    assert done["job"]["attempt"] != paused["job"]["attempt"]
    assert done["model_versions"][0]["epochs"] == EPOCHS_TO_PAUSE, done
    events = [json.loads(line) for line in
              (live_platform.workspace / "runs" / f"task-{task['id']}" / "events.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["type"] == "start"]
    assert [e["resumed"] for e in starts] == [False, True], starts
    pause_status = next(e for e in events if e["type"] == "status")
    assert pause_status["status"] == "paused"
    assert paused_step == f"{pause_status['step']} / {starts[0]['steps_per_epoch']}"
    assert (starts[1]["epoch"], starts[1]["step"]) == (pause_status["epoch"], pause_status["step"])
    print(f"\npause/resume: progress at {progress_at:.1f} s, paused at {paused_at:.1f} s, "
          f"done at {time.monotonic() - started:.1f} s")

    assert watch.console_errors == []
    assert watch.error_pages == []
    assert watch.foreign_requests == []
