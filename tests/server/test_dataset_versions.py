"""Version edits, diff, export and delete through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

import classmill.data
from classmill.data import Dataset as LibraryDataset
from classmill.data import ImageRecord, assign_splits
from classmill.server.db.datasets import DatasetVersion, StoredImage
from classmill.server.services import versions as versions_service
from support.server_accounts import assert_problem
from support.server_world import make_world

IMAGES = [("cat", None, "cats/Tom.png"), ("cat", None, "cats/felix.png"), ("cat", None, "cats/garfield.png"),
          ("dog", None, "dogs/rex.png"), ("dog", None, "dogs/lassie.png"), ("dog", None, "dogs/snoopy.png")]


@pytest.fixture
def world(client, new_client, app, settings):
    w = make_world(client, new_client, app, settings)
    yield w
    w.db.close()


def test_relabel_and_delete_make_version_2_and_the_diff_says_so(world):
    dataset, v1, hashes = world.dataset("alice", "pets", IMAGES)
    url = f"/api/v1/datasets/{dataset.id}/versions"
    made = world.alice.post(f"{url}/1/images/edit", json={"delete": [hashes[5]],
                                                          "relabel": [{"hashes": [hashes[0]], "label": "dog"}]})
    assert made.status_code == 201, made.text
    v2 = made.json()
    assert (v2["number"], v2["parent_id"], v2["image_count"]) == (2, v1.id, 5)
    assert v2["summary"] == "deleted 1 image(s); relabelled 1 image(s) to 'dog'"
    assert v2["author_id"] == world.alice.get("/api/v1/me").json()["id"]
    diff = world.alice.get(f"{url}/2/diff", params={"from": 1}).json()
    assert diff["removed"] == [hashes[5]] and diff["added"] == []
    assert diff["relabelled"] == [{"hash": hashes[0], "from": "cat", "to": "dog"}]
    assert diff["class_counts"] == {"cat": {"from": 3, "to": 2}, "dog": {"from": 3, "to": 3}}
    # Version 1 is untouched: versions are immutable.
    assert world.alice.get(f"{url}/1").json()["image_count"] == 6
    listed = world.alice.get(url).json()
    assert [v["number"] for v in listed["items"]] == [2, 1] and listed["total"] == 2


def test_edits_are_validated_before_anything_is_written(world):
    dataset, _, hashes = world.dataset("alice", "pets", IMAGES)
    url = f"/api/v1/datasets/{dataset.id}/versions/1"
    unknown = "f" * 32
    body = assert_problem(world.alice.post(f"{url}/images/edit", json={"delete": [unknown, hashes[0]]}), 422,
                          "unknown_images")
    assert unknown in body["detail"] and hashes[0] not in body["detail"]
    assert_problem(world.alice.post(f"{url}/images/edit", json={}), 422, "empty_edit")
    assert_problem(world.alice.post(f"{url}/images/edit", json={"relabel": [{"hashes": [hashes[3]], "label": "dog"}]}),
                   422, "empty_edit")  # already a dog
    assert_problem(world.alice.post(f"{url}/images/edit", json={"relabel": [{"hashes": [hashes[0]], "label": "bird"}]}),
                   422, "unknown_class")
    assert_problem(world.alice.post(f"{url}/classes", json={"name": "a/b"}), 422, "bad_label")
    assert_problem(world.alice.post(f"{url}/classes", json={"name": " cat"}), 422, "bad_label")
    assert_problem(world.alice.post(f"{url}/classes", json={"name": "cat"}), 422, "class_exists")
    assert_problem(world.alice.post(f"{url}/images/edit", json={"delete": ["../etc/passwd"]}), 422)
    assert_problem(world.alice.post(f"{url}/split", json={"val": 0.6, "test": 0.5}), 422, "bad_split")
    assert world.alice.get(f"/api/v1/datasets/{dataset.id}/versions").json()["total"] == 1


def test_classes_are_added_renamed_and_deleted_only_with_their_images(world):
    dataset, _, hashes = world.dataset("alice", "pets", IMAGES)
    url = f"/api/v1/datasets/{dataset.id}/versions"
    assert world.alice.post(f"{url}/1/classes", json={"name": "bird"}).json()["classes"] == ["cat", "dog", "bird"]
    renamed = world.alice.post(f"{url}/2/classes/rename", json={"name": "cat", "new_name": "kitten"}).json()
    assert renamed["classes"] == ["kitten", "dog", "bird"] and renamed["number"] == 3
    counts = world.alice.get(f"{url}/3/classes").json()
    assert counts["kitten"]["total"] == 3 and counts["bird"]["total"] == 0 and "cat" not in counts
    refused = assert_problem(world.alice.post(f"{url}/3/classes/delete", json={"name": "kitten"}), 409,
                             "class_not_empty")
    assert "3 image(s)" in refused["detail"]
    assert world.alice.post(f"{url}/3/classes/delete", json={"name": "bird"}).json()["classes"] == ["kitten", "dog"]
    gone = world.alice.post(f"{url}/4/classes/delete", json={"name": "kitten", "delete_images": True}).json()
    assert (gone["classes"], gone["image_count"]) == (["dog"], 3)


def test_split_is_the_librarys_stable_split(world):
    more = [("cat", None, f"more/{i}.png") for i in range(7)]
    dataset, _, hashes = world.dataset("alice", "pets", IMAGES + more)
    url = f"/api/v1/datasets/{dataset.id}/versions"
    made = world.alice.post(f"{url}/1/split", json={"val": 0.25, "test": 0.25, "seed": 3})
    assert made.status_code == 201, made.text
    assert made.json()["split_settings"] == {"val": 0.25, "test": 0.25, "seed": 3}
    rows = versions_service.version_rows(world.db, world.db.scalar(
        select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id, DatasetVersion.number == 2)))
    records = [ImageRecord(path=Path(h), ref=r.original_name, label=r.label, content_hash=h) for h, r in rows.items()]
    expected = assign_splits(LibraryDataset("x", "server", ["cat", "dog"], records), 0.25, 0.25, 3)
    assert {h: r.split for h, r in rows.items()} == {r.content_hash: r.split for r in expected.dataset.records}
    diff = world.alice.get(f"{url}/2/diff", params={"from": 1}).json()
    assert diff["counts"] == {"added": 0, "removed": 0, "relabelled": 0, "moved": 13}
    assert {m["from"] for m in diff["moved"]} == {None} and len(diff["moved"]) == 13
    again = world.alice.post(f"{url}/2/split", json={"val": 0.25, "test": 0.25, "seed": 3}).json()
    assert world.alice.get(f"{url}/3/diff", params={"from": 2}).json()["counts"]["moved"] == 0  # stable
    assert again["split_settings"] == {"val": 0.25, "test": 0.25, "seed": 3}
    counts = world.alice.get(f"{url}/2/classes").json()
    assert counts["cat"]["total"] == 10 and counts["cat"]["val"] > 0 and counts["cat"]["unsplit"] == 0


def test_export_round_trips_through_the_librarys_readers(world, tmp_path):
    dataset, _, hashes = world.dataset("alice", "pets", IMAGES)
    url = f"/api/v1/datasets/{dataset.id}/versions"
    world.alice.post(f"{url}/1/images/edit", json={"delete": [hashes[5]],
                                                   "relabel": [{"hashes": [hashes[0]], "label": "dog"}]})
    world.alice.post(f"{url}/2/split", json={"val": 0.34, "test": 0.0, "seed": 1})
    for number in (2, 3):  # unsplit (class folders) and split (PaddleClas lists)
        response = world.alice.get(f"{url}/{number}/export")
        assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
        path = tmp_path / f"v{number}.zip"
        path.write_bytes(response.content)
        report = classmill.data.check(path, extract_dir=tmp_path / f"x{number}")
        got = {r.content_hash: (r.label, r.split) for r in report.dataset.records}
        rows = versions_service.version_rows(world.db, world.db.scalar(
            select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id, DatasetVersion.number == number)))
        assert got == {h: (r.label, r.split) for h, r in rows.items()}
        if number == 3:
            assert report.dataset.kind == "zip/paddleclas" and report.dataset.classes == ["cat", "dog"]
            names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
            assert "dog/Tom.png" in names and "labels.txt" in names and "val_list.txt" in names
    assert not list(world.store.scratch.glob("export-*"))  # the temp zip went after streaming


def test_add_images_and_merge_from_another_dataset_the_user_can_read(world):
    pets, _, pet_hashes = world.dataset("alice", "pets", IMAGES[:2])
    birds, _, bird_hashes = world.dataset("alice", "birds", [("bird", None, "b1.png"), ("bird", None, "b2.png")], seed=1)
    hidden, _, hidden_hashes = world.dataset("bob", "secret", [("x", None, "x.png")], seed=2)
    url = f"/api/v1/datasets/{pets.id}/versions"
    added = world.alice.post(f"{url}/1/images/add", json={"source_dataset_id": birds.id, "source_version": 1,
                                                          "hashes": [bird_hashes[0]], "label": "cat"})
    assert added.status_code == 201, added.text
    assert added.json()["image_count"] == 3
    assert_problem(world.alice.post(f"{url}/2/images/add", json={"source_dataset_id": birds.id, "source_version": 1,
                                                                 "hashes": [pet_hashes[0]], "label": "cat"}),
                   422, "unknown_images")
    assert_problem(world.alice.post(f"{url}/2/images/add", json={"source_dataset_id": hidden.id, "source_version": 1,
                                                                 "hashes": hidden_hashes, "label": "cat"}),
                   404, "dataset_not_found")
    merged = world.alice.post(f"{url}/2/merge", json={"source_dataset_id": birds.id, "source_version": 1}).json()
    assert merged["classes"] == ["cat", "bird"] and merged["image_count"] == 4
    diff = world.alice.get(f"{url}/3/diff", params={"from": 2}).json()
    assert diff["added"] == [bird_hashes[1]] and diff["counts"]["relabelled"] == 0  # bird 0 stays a cat
    assert_problem(world.alice.post(f"{url}/3/merge", json={"source_dataset_id": birds.id, "source_version": 1}),
                   422, "empty_edit")
    assert_problem(world.alice.post(f"{url}/3/merge", json={"source_dataset_id": hidden.id, "source_version": 1}),
                   404, "dataset_not_found")


def test_another_users_dataset_is_404_and_a_read_only_share_cannot_edit(world):
    dataset, _, hashes = world.dataset("alice", "pets", IMAGES)
    url = f"/api/v1/datasets/{dataset.id}/versions"
    for path in ("", "/1", "/1/classes", "/1/images", "/1/export", "/1/diff?from=1"):
        assert_problem(world.bob.get(f"{url}{path}"), 404, "dataset_not_found")
    assert_problem(world.bob.post(f"{url}/1/images/edit", json={"delete": [hashes[0]]}), 404, "dataset_not_found")
    assert_problem(world.bob.delete(f"{url}/1"), 404, "dataset_not_found")
    world.share(dataset.id, "bob", "read")
    assert world.bob.get(f"{url}/1/images").json()["total"] == 6
    assert_problem(world.bob.post(f"{url}/1/images/edit", json={"delete": [hashes[0]]}), 403, "read_only_share")
    assert_problem(world.bob.post(f"{url}/1/split", json={}), 403, "read_only_share")
    assert_problem(world.bob.delete(f"{url}/1"), 403, "read_only_share")
    assert_problem(world.alice.get(f"{url}/9"), 404, "version_not_found")


def test_deleting_a_version_keeps_files_other_versions_hold(world, monkeypatch):
    dataset, v1, hashes = world.dataset("alice", "pets", IMAGES)
    other, _, _ = world.dataset("alice", "other", [("cat", None, "again.png")])  # holds hashes[0] too
    url = f"/api/v1/datasets/{dataset.id}/versions"
    world.alice.post(f"{url}/1/images/edit", json={"delete": hashes[4:]})  # v2: hashes 0-3
    world.alice.post(f"{url}/2/images/edit", json={"delete": [hashes[3]]})  # v3: hashes 0-2, parent v2
    assert world.alice.delete(f"{url}/2").status_code == 204
    assert world.alice.get(f"{url}/3").json()["parent_id"] == v1.id  # history goes through the grandparent
    assert all(world.store.blobs.exists(h) for h in hashes)  # v1 still holds every file
    monkeypatch.setattr(versions_service, "version_users", lambda session, version: ["training task 7"])
    body = assert_problem(world.alice.delete(f"{url}/1"), 409, "version_in_use")
    assert "training task 7" in body["detail"]
    monkeypatch.undo()
    assert world.alice.delete(f"{url}/1").status_code == 204
    world.db.expire_all()
    kept = set(world.db.scalars(select(StoredImage.content_hash)))
    assert hashes[0] in kept and hashes[3] not in kept and hashes[5] not in kept  # v3 or `other` hold 0-2
    assert world.store.blobs.exists(hashes[0]) and not world.store.blobs.exists(hashes[3])
    assert not world.store.blobs.exists(hashes[5])
    assert other.id and [v["number"] for v in world.alice.get(url).json()["items"]] == [3]


def test_moving_images_between_splits_and_relabelling_into_a_new_class_in_one_edit(world):
    dataset, _, hashes = world.dataset("alice", "pets", IMAGES)
    url = f"/api/v1/datasets/{dataset.id}/versions"
    made = world.alice.post(f"{url}/1/images/edit", json={
        "move": [{"hashes": hashes[:2], "split": "val"}], "new_classes": ["kitten"],
        "relabel": [{"hashes": [hashes[2]], "label": "kitten"}]})
    assert made.status_code == 201, made.text
    assert "kitten" in made.json()["classes"]
    counts = world.alice.get(f"{url}/2/classes").json()
    assert counts["kitten"]["total"] == 1 and counts["cat"]["val"] == 2 and counts["cat"]["total"] == 2
    diff = world.alice.get(f"{url}/2/diff", params={"from": 1}).json()
    assert sorted(m["hash"] for m in diff["moved"]) == sorted(hashes[:2])
    assert diff["relabelled"] == [{"hash": hashes[2], "from": "cat", "to": "kitten"}]
    # a new class that exists already, or a relabel into a class neither there nor new, is refused
    assert_problem(world.alice.post(f"{url}/2/images/edit", json={"new_classes": ["dog"],
                                                                 "relabel": [{"hashes": [hashes[0]], "label": "dog"}]}),
                   422)
    assert_problem(world.alice.post(f"{url}/2/images/edit", json={"move": [{"hashes": [hashes[0]], "split": "lunch"}]}),
                   422)


def test_restore_undoes_edits_and_refuses_one_that_changes_nothing(world):
    dataset, _, hashes = world.dataset("alice", "pets", IMAGES)
    url = f"/api/v1/datasets/{dataset.id}/versions"
    split = world.alice.post(f"{url}/1/split", json={"val": 0.34, "test": 0, "seed": 3}).json()  # v2
    edited = world.alice.post(f"{url}/2/images/edit", json={  # v3: relabelled into a new class, moved, deleted
        "new_classes": ["kitten"], "relabel": [{"hashes": hashes[:2], "label": "kitten"}],
        "move": [{"hashes": [hashes[3]], "split": None}], "delete": [hashes[5]]}).json()
    restored = world.alice.post(f"{url}/3/restore", json={"from_version": 2})
    assert restored.status_code == 201, restored.text
    v4 = restored.json()
    assert (v4["number"], v4["parent_id"], v4["summary"]) == (4, edited["id"], "restored version 2")
    assert v4["classes"] == ["cat", "dog"] and v4["split_settings"] == split["split_settings"] is not None
    assert v4["check_report"]["inherited_from_version"] == 1
    diff = world.alice.get(f"{url}/4/diff", params={"from": 2}).json()
    assert diff["counts"] == {"added": 0, "removed": 0, "relabelled": 0, "moved": 0}, diff
    assert world.alice.get(f"{url}/4/classes").json() == world.alice.get(f"{url}/2/classes").json()
    # the edit itself stays in the history, and restoring it again redoes it
    redone = world.alice.post(f"{url}/4/restore", json={"from_version": 3}).json()
    assert redone["classes"] == ["cat", "dog", "kitten"] and redone["image_count"] == 5

    body = assert_problem(world.alice.post(f"{url}/5/restore", json={"from_version": 3}), 422,
                          "nothing_to_restore")
    assert "version 5 already has the images" in body["detail"]
    assert_problem(world.alice.post(f"{url}/5/restore", json={"from_version": 9}), 404, "version_not_found")
    assert_problem(world.alice.post(f"{url}/5/restore", json={}), 422)
    assert_problem(world.bob.post(f"{url}/5/restore", json={"from_version": 1}), 404, "dataset_not_found")
    world.share(dataset.id, "bob", "read")
    assert_problem(world.bob.post(f"{url}/5/restore", json={"from_version": 1}), 403, "read_only_share")
    assert world.alice.get(url).json()["total"] == 5
