"""The datasets and projects pages: empty states, counts from the newest version, creating, errors."""

from __future__ import annotations

import re

from support.server_datasets import make_dataset, user_named
from support.web_pages import error_of, flash_of, log_in_browser, set_up_in_browser


def test_datasets_page_from_empty_to_counts(app, client):
    csrf = set_up_in_browser(client)
    empty = client.get("/datasets")
    assert "No datasets yet" in empty.text and "images/ok/*.jpg" in empty.text

    made = client.post("/datasets", data={"name": "缺陷 casting", "description": "", "csrf_token": csrf})
    assert flash_of(made) == "Dataset “缺陷 casting” was created. Next, import its images."
    assert "缺陷 casting" in made.text and "No images yet" in made.text
    taken = client.post("/datasets", data={"name": "缺陷 casting", "csrf_token": csrf})
    assert taken.status_code == 409 and "already have a dataset named" in error_of(taken)

    state = app.state.classmill
    with state.sessions() as session:
        images = [("ok", None, f"ok/{i}.png") for i in range(3)] + [("ng", None, "ng/0.png")]
        make_dataset(session, state.layout, user_named(session, "admin"), "parts", images)
    listed = client.get("/datasets")
    row = re.search(r"<tr>\s*<td><a href=\"/datasets/\d+\">parts</a></td>(.*?)</tr>", listed.text, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[:4] == ["Ready", "4", "2", "v1"]


def test_projects_page_needs_a_dataset_and_shows_only_what_the_visitor_may_see(app, client, new_client):
    csrf = set_up_in_browser(client)
    page = client.get("/projects")
    assert "No projects yet" in page.text and "Create a dataset first." in page.text
    assert 'action="/projects"' not in page.text

    client.post("/datasets", data={"name": "parts", "csrf_token": csrf})
    dataset_id = re.search(r'<option value="(\d+)">parts</option>', client.get("/projects").text).group(1)
    made = client.post("/projects", data={"name": "inspection", "dataset_id": dataset_id, "description": "line 3",
                                          "csrf_token": csrf})
    assert flash_of(made) == "Project “inspection” was created."
    assert re.search(r"<td><a href=\"/projects/\d+\">inspection</a><br><span class=\"muted small\">line 3</span></td>"
                     r"\s*<td>parts</td>", made.text)
    again = client.post("/projects", data={"name": "inspection", "dataset_id": dataset_id, "csrf_token": csrf})
    assert again.status_code == 409 and "already has a project named 'inspection'" in error_of(again)
    assert 'value="inspection"' in again.text

    client.post("/admin/users", data={"username": "bob", "password": "bob-password", "csrf_token": csrf})
    bob = new_client()
    bob_csrf = log_in_browser(bob, "bob", "bob-password")
    bobs = bob.get("/projects")
    assert "No projects yet" in bobs.text and "inspection" not in bobs.text and "Create a dataset first." in bobs.text
    # an id of someone else's dataset is "not found", exactly like one that does not exist
    probe = bob.post("/projects", data={"name": "mine", "dataset_id": dataset_id, "csrf_token": bob_csrf})
    assert probe.status_code == 404 and f"There is no dataset {dataset_id}" in error_of(probe)
