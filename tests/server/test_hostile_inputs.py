"""Hostile inputs at the edge of the server: out-of-range numbers, missing stored files, oversized bodies.

Each answer is the one 4xx shape (never a 500), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import pytest

from classmill.server.store.thumbnails import thumbnail_path
from support.server_accounts import assert_problem, set_up_admin
from support.server_world import make_world

HUGE = 10**20  # past int64: SQLite cannot bind it
PAST_INT32 = 2**31  # past PostgreSQL's integer columns


@pytest.fixture
def world(client, new_client, app, settings):
    w = make_world(client, new_client, app, settings)
    yield w
    w.db.close()


@pytest.mark.parametrize("number", [HUGE, PAST_INT32])
def test_ids_and_offsets_out_of_the_databases_range_answer_422_not_500(world, number):
    dataset, _, _ = world.dataset("alice", "pets", [("cat", None, "a.png")])
    base = f"/api/v1/datasets/{dataset.id}"
    for url in [f"/api/v1/datasets/{number}", f"/api/v1/jobs/{number}", f"/api/v1/projects?dataset_id={number}",
                f"/api/v1/datasets?offset={number}", f"{base}/versions/{number}",
                f"{base}/versions/1/diff?from={number}", f"{base}/versions?offset={number}"]:
        assert_problem(world.alice.get(url), 422, "invalid_request")
    for url in [f"/api/v1/projects/{number}", f"/api/v1/tokens/{number}", f"/api/v1/datasets/{number}/shares/bob"]:
        assert_problem(world.alice.delete(url), 422, "invalid_request")
    merge = world.alice.post(f"{base}/versions/1/merge", json={"source_dataset_id": number, "source_version": 1})
    assert_problem(merge, 422, "invalid_request")
    project = world.alice.post("/api/v1/projects", json={"name": "p", "dataset_id": number})
    assert_problem(project, 422, "invalid_request")


def test_admin_user_ids_out_of_range_answer_422(client):
    csrf = set_up_admin(client)
    assert_problem(client.post(f"/api/v1/users/{HUGE}/disable", headers={"X-CSRF-Token": csrf}), 422, "invalid_request")


def test_a_stored_file_missing_from_the_store_is_a_clear_error_not_a_500(world):
    dataset, _, hashes = world.dataset("alice", "pets", [("cat", "train", "a.png"), ("dog", None, "b.png")])
    world.store.blobs.path(hashes[0]).unlink()  # the store lost it (a disk restored without it, a hand delete)
    thumbnail_path(world.store.thumbnails, hashes[0]).unlink()
    for url in [f"/api/v1/images/{hashes[0]}", f"/api/v1/images/{hashes[0]}/thumbnail",
                f"/api/v1/datasets/{dataset.id}/versions/1/export"]:
        body = assert_problem(world.alice.get(url), 404, "stored_file_missing")
        assert hashes[0] in body["detail"]
    assert list(world.store.scratch.glob("export-*")) == []  # the half-written export is gone
    assert world.alice.get(f"/api/v1/images/{hashes[1]}").status_code == 200
