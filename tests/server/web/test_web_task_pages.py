"""The project page (tasks, model versions, sharing), the new-task form (classes, presets with measured
times, options checked in place) and the task page, over the same services as the API."""

from __future__ import annotations

import html
import json
import re

import pytest

from support.server_tasks import SETTLED, TINY_TASK_OPTIONS
from support.server_world import make_world
from support.training import wait_for
from support.web_pages import error_of, flash_of


@pytest.fixture
def world(client, new_client, app, settings):
    w = make_world(client, new_client, app, settings)
    yield w
    w.db.close()


def _project(world, per_class: dict[str, int], name="零件 parts") -> tuple[int, int]:
    images = [(label, None, f"{label}/{i}.png") for label, n in per_class.items() for i in range(n)]
    dataset, version, _ = world.dataset("alice", name, images)
    created = world.alice.post("/api/v1/projects", json={"name": name, "dataset_id": dataset.id})
    assert created.status_code == 201, created.text
    return created.json()["id"], version.number


def _text(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def _field_error(page, field: str) -> str:
    found = re.search(rf'data-field-error="{field}"(?: hidden)?>(.*?)</p>', page.text, re.S)
    assert found, f"no error place for {field}"
    return html.unescape(found.group(1)).strip()


def test_project_page_lists_tasks_and_shares_and_a_reader_cannot_train(world):
    project, _ = _project(world, {"好": 20, "坏": 20})
    page = world.alice.get(f"/projects/{project}")
    assert page.status_code == 200
    text = _text(page)
    assert "零件 parts" in text and "newest version v1, 40 images in 2 classes" in text
    assert "No tasks yet" in text and "No model versions yet" in text and "Only you (and admins)" in text
    assert f'href="/projects/{project}/tasks/new"' in page.text
    assert f'href="/projects/{project}"' in world.alice.get("/projects").text  # the list links here

    shared = world.alice.post(f"/projects/{project}/shares", data={"username": "bob", "permission": "read"})
    assert flash_of(shared) == "The project is shared with “bob”: they can see it and its models."
    assert re.search(r"<td>bob</td>\s*<td>Read</td>", shared.text)
    again = world.alice.post(f"/projects/{project}/shares", data={"username": "bob", "permission": "write"})
    assert again.status_code == 409 and "already shared with 'bob'" in error_of(again)
    nobody = world.alice.post(f"/projects/{project}/shares", data={"username": "carol", "permission": "read"})
    assert nobody.status_code == 404 and 'value="carol"' in nobody.text

    bobs = world.bob.get(f"/projects/{project}")
    assert "shared with you read-only" in _text(bobs) and f"/projects/{project}/tasks/new" not in bobs.text
    assert world.bob.get(f"/projects/{project}/tasks/new").status_code == 403
    assert world.bob.post(f"/projects/{project}/shares", data={"username": "alice"}).status_code == 403

    revoked = world.alice.post(f"/projects/{project}/shares/bob/revoke")
    assert flash_of(revoked) == "“bob” no longer has access to the project."
    assert world.bob.get(f"/projects/{project}").status_code == 404


def test_new_task_form_says_why_a_class_cannot_be_chosen_and_shows_only_measured_times(world, settings):
    project, version = _project(world, {"ok": 25, "ng": 20, "rare": 5})
    page = world.alice.get(f"/projects/{project}/tasks/new")
    text = _text(page)
    assert re.search(r'value="rare" disabled>', page.text) and re.search(r'value="ok" checked>', page.text)
    assert "Cannot be chosen: it has 5, at least 20 are needed." in text
    assert text.count("Not measured on this machine yet.") == 3  # no benchmark file in this workspace
    # every advanced field holds the default preset's value (balanced: 5 epochs; the input size is left to
    # the training images, so its field is empty with "automatic" as its placeholder)
    assert re.search(r'id="opt-image_size" name="opt_image_size" value="" autocomplete="off" placeholder="automatic"',
                     page.text)
    assert re.search(r'id="opt-epochs" name="opt_epochs" value="5"', page.text)
    spec = json.loads(html.unescape(re.search(r'data-option="image_size" data-type="int"\s+data-preset-defaults="([^"]+)"',
                                              page.text).group(1)))
    assert spec == {"fast": None, "balanced": None, "accurate": None}

    (settings.workspace / "preset_times.json").write_text(json.dumps({
        "measured": "2026-11-24 18:28:58", "presets": {"fast": {"seconds": 10.5, "train_images": 480, "image_size": 160}}}))
    timed = _text(world.alice.get(f"/projects/{project}/tasks/new"))
    assert "Measured on this machine: about 10 s for 480 images at 160 px." in timed
    assert timed.count("Not measured on this machine yet.") == 2  # balanced and accurate were not measured

    classes = world.alice.get(f"/projects/{project}/tasks/new/classes", params={"dataset_version": version})
    assert classes.status_code == 200 and "Cannot be chosen" in classes.text and "<html" not in classes.text


def test_new_task_options_help_is_in_the_pages_language(world):
    project, _ = _project(world, {"ok": 25, "ng": 20})
    english = world.alice.get(f"/projects/{project}/tasks/new").text
    assert re.search(r'id="opt-lr-help">Peak learning rate of the new head.</p>', english)
    world.alice.cookies.set("classmill_lang", "zh_CN")
    chinese = world.alice.get(f"/projects/{project}/tasks/new").text
    assert re.search(r'id="opt-lr-help">新分类头的峰值学习率。</p>', chinese)
    helps = re.findall(r'<p class="hint" id="opt-[a-z_]+-help">([^<]*)</p>', chinese)
    assert len(helps) >= 30 and not [h for h in helps if re.search(r"[a-z]{4,} [a-z]{4,}", h)], helps


def _form(version: int, **fields) -> dict:
    return {"name": "first", "dataset_version": str(version), "preset": "fast", "select_metric": "top1",
            "classes": ["ok", "ng"], **fields}


def test_new_task_refusals_are_shown_beside_their_field(world, settings):
    project, version = _project(world, {"ok": 20, "ng": 20})
    url = f"/projects/{project}/tasks"
    small = world.alice.post(url, data=_form(version, opt_image_size="8"))
    assert small.status_code == 422 and "image_size" in _field_error(small, "image_size")
    assert 'value="8"' in small.text and "<details class=\"card advanced\" open>" in small.text
    typed = world.alice.post(url, data=_form(version, opt_lr="fast please"))
    assert typed.status_code == 422 and _field_error(typed, "lr") == "Give a number."
    one = world.alice.post(url, data=_form(version, classes=["ok"]))
    assert one.status_code == 422 and "at least 2 classes" in _field_error(one, "classes")
    assert world.alice.get(f"/api/v1/projects/{project}/tasks").json()["total"] == 0
    assert not list(settings.workspace.glob("task-data/*.csv"))


def test_a_task_made_on_the_form_trains_and_its_page_links_the_model_version(world):
    project, version = _project(world, {"ok": 20, "ng": 20})
    options = {f"opt_{name}": str(value).lower() if isinstance(value, bool) else str(value)
               for name, value in TINY_TASK_OPTIONS.items()}
    options.update({f"opt_{name}__shown": "1" for name, value in TINY_TASK_OPTIONS.items() if isinstance(value, bool)})
    options.pop("opt_pretrained")  # an unticked checkbox sends nothing
    made = world.alice.post(f"/projects/{project}/tasks", data=_form(version, **options), follow_redirects=False)
    assert made.status_code == 303, made.text
    task_id = int(made.headers["location"].rsplit("/", 1)[1])
    task = world.alice.get(f"/api/v1/tasks/{task_id}").json()
    # only what differs from the preset is recorded as the visitor's choice
    assert task["options"] == {k: v for k, v in TINY_TASK_OPTIONS.items() if k != "head_warmup_steps"} | {
        "head_warmup_steps": 20}
    page = world.alice.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and f'data-job-id="{task["job"]["id"]}"' in page.text
    assert "Task “first” was created and queued." in _text(page)
    # the buttons' refusals come from the API by script: the page hands it their words in its language
    world.alice.cookies.set("classmill_lang", "zh_CN")
    errors = json.loads(html.unescape(re.search(r"data-errors='([^']*)'", world.alice.get(f"/tasks/{task_id}").text)[1]))
    assert errors["job_not_active"] == ["它没有在运行，所以无法暂停或停止。", "如果它已暂停、停止或中断，请先继续运行它。"]
    world.alice.cookies.set("classmill_lang", "en")

    assert wait_for(lambda: world.alice.get(f"/api/v1/tasks/{task_id}").json()["job"]["state"] in SETTLED, 180)
    done = world.alice.get(f"/api/v1/tasks/{task_id}").json()
    assert done["job"]["state"] == "succeeded", done["job"]["error"]
    model = done["model_versions"][0]
    page = world.alice.get(f"/tasks/{task_id}")
    assert f'href="/models/{model["id"]}">Model version v{model["number"]}</a>' in page.text
    listed = world.alice.get(f"/projects/{project}")
    assert f'<a href="/models/{model["id"]}">v{model["number"]}</a>' in listed.text
    assert re.search(r"Done</span>", listed.text)
    assert world.bob.get(f"/tasks/{task_id}").status_code == 404
