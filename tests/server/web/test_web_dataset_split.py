"""The dataset page's split dialog and its images-into-a-class drop zone (the drop itself is the browser's)."""

from __future__ import annotations

import re

from sqlalchemy import select

from classmill.server.db.datasets import VersionImage
from support.server_datasets import make_dataset, user_named
from support.web_pages import error_of, flash_of, log_in_browser, set_up_in_browser


def _dataset(app) -> int:
    state = app.state.classmill
    with state.sessions() as session:
        images = [("汽车", None, f"汽车/{i}.png") for i in range(10)] + [("bike", None, f"bike/{i}.png") for i in range(10)]
        dataset, _, _ = make_dataset(session, state.layout, user_named(session, "admin"), "车辆", images)
        return dataset.id


def _splits(app, dataset_id: int, number: int) -> dict[str, int]:
    state = app.state.classmill
    from classmill.server.services import versions
    with state.sessions() as session:
        _, version = versions.get_version(session, user_named(session, "admin"), dataset_id, number)
        rows = session.scalars(select(VersionImage.split).where(VersionImage.version_id == version.id)).all()
    return {split: rows.count(split) for split in set(rows)}


def test_the_split_dialog_makes_a_new_split_version(app, client):
    csrf = set_up_in_browser(client)
    dataset_id = _dataset(app)
    page = client.get(f"/datasets/{dataset_id}")
    assert f'action="/datasets/{dataset_id}/versions/1/split"' in page.text and "<dialog" in page.text
    assert 'x-data="classDrop(' in page.text and '<option value="汽车">' in page.text  # the drop zone's classes

    split = client.post(f"/datasets/{dataset_id}/versions/1/split",
                        data={"val": "20", "test": "10", "seed": "7", "csrf_token": csrf}, follow_redirects=False)
    assert split.status_code == 303 and split.headers["location"] == f"/datasets/{dataset_id}"
    shown = client.get(f"/datasets/{dataset_id}")
    assert flash_of(shown).startswith("Version 2 was made from version 1")
    assert _splits(app, dataset_id, 2) == {"train": 14, "val": 4, "test": 2}
    assert 'action="/datasets/%d/versions/2/split"' % dataset_id in shown.text


def test_a_refused_split_shows_in_the_open_dialog_with_what_was_typed(app, client, new_client):
    csrf = set_up_in_browser(client)
    dataset_id = _dataset(app)
    too_much = client.post(f"/datasets/{dataset_id}/versions/1/split",
                           data={"val": "100", "test": "10", "seed": "3", "csrf_token": csrf})
    assert too_much.status_code == 422 and "The val share is 100 %; it must be at least 0 and under 100 %." in error_of(too_much)
    assert 'x-init="$el.showModal()"' in too_much.text and 'value="100"' in too_much.text
    not_a_number = client.post(f"/datasets/{dataset_id}/versions/1/split",
                                data={"val": "a lot", "test": "10", "seed": "3", "csrf_token": csrf})
    assert not_a_number.status_code == 422 and "is not a number" in error_of(not_a_number)
    no_room = client.post(f"/datasets/{dataset_id}/versions/1/split",
                          data={"val": "60", "test": "50", "seed": "3", "csrf_token": csrf})
    assert no_room.status_code == 422 and "sum to less than 1" in error_of(no_room)  # the service's own rule
    assert client.post(f"/datasets/{dataset_id}/versions/1/split",
                       data={"val": "20", "test": "10", "seed": "3"}).status_code == 403  # no CSRF token

    client.post("/admin/users", data={"username": "bob", "password": "bob-password", "csrf_token": csrf})
    bob = new_client()
    bob_csrf = log_in_browser(bob, "bob", "bob-password")
    stolen = bob.post(f"/datasets/{dataset_id}/versions/1/split",
                      data={"val": "20", "test": "10", "seed": "3", "csrf_token": bob_csrf})
    assert stolen.status_code == 404 and re.search(r"no dataset", error_of(stolen))
    assert _splits(app, dataset_id, 1) == {None: 20}
