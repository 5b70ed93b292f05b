"""Browsing a version: counts, the filtered and paged gallery, image files with ETag, image details."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from classmill.server.db.datasets import Dataset, StoredImage, VersionImage
from classmill.server.db.session import writing
from classmill.server.services.version_commit import commit_version
from support.server_accounts import assert_problem
from support.server_datasets import user_named
from support.server_world import make_world

IMAGES = [("cat", "train", "cats/Tom.png"), ("cat", "val", "cats/felix.png"), ("cat", None, "cats/TOMMY.png"),
          ("dog", "train", "dogs/rex.png"), ("dog", "test", "dogs/lassie.png")]


@pytest.fixture
def world(client, new_client, app, settings):
    w = make_world(client, new_client, app, settings)
    yield w
    w.db.close()


def _names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["original_name"] for item in response.json()["items"]]


def test_counts_per_class_and_split_include_empty_classes(world):
    dataset, _, _ = world.dataset("alice", "pets", IMAGES, classes=["cat", "dog", "bird"])
    counts = world.alice.get(f"/api/v1/datasets/{dataset.id}/versions/1/classes").json()
    assert counts == {"cat": {"train": 1, "val": 1, "test": 0, "unsplit": 1, "total": 3},
                      "dog": {"train": 1, "val": 0, "test": 1, "unsplit": 0, "total": 2},
                      "bird": {"train": 0, "val": 0, "test": 0, "unsplit": 0, "total": 0}}


def test_gallery_filters_and_pages_return_exactly_the_expected_images(world):
    dataset, _, hashes = world.dataset("alice", "pets", IMAGES)
    with writing(world.db):  # a problem on one image, as the import's check report would set it
        world.db.query(VersionImage).filter(VersionImage.content_hash == hashes[2]).update(
            {"problems": ["duplicate_image"]})
    url = f"/api/v1/datasets/{dataset.id}/versions/1/images"
    everything = world.alice.get(url)
    assert _names(everything) == ["cats/TOMMY.png", "cats/Tom.png", "cats/felix.png", "dogs/lassie.png",
                                  "dogs/rex.png"]
    item = everything.json()["items"][0]
    assert item["hash"] == hashes[2] and (item["width"], item["height"]) == (48, 40)
    assert item["thumbnail_url"] == f"/api/v1/images/{hashes[2]}/thumbnail"
    assert _names(world.alice.get(url, params={"label": "cat"})) == ["cats/TOMMY.png", "cats/Tom.png", "cats/felix.png"]
    assert _names(world.alice.get(url, params={"split": "train"})) == ["cats/Tom.png", "dogs/rex.png"]
    assert _names(world.alice.get(url, params={"split": "unsplit"})) == ["cats/TOMMY.png"]
    assert _names(world.alice.get(url, params={"search": "tom"})) == ["cats/TOMMY.png", "cats/Tom.png"]
    assert _names(world.alice.get(url, params={"search": "%"})) == []  # LIKE wildcards are literal
    assert _names(world.alice.get(url, params={"problem": "duplicate_image"})) == ["cats/TOMMY.png"]
    assert _names(world.alice.get(url, params={"label": "cat", "split": "val"})) == ["cats/felix.png"]
    pages = [world.alice.get(url, params={"limit": 2, "offset": offset}).json() for offset in (0, 2, 4)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert sum(([i["original_name"] for i in p["items"]] for p in pages), []) == _names(everything)
    assert_problem(world.alice.get(url, params={"limit": 201}), 422)
    assert_problem(world.alice.get(url, params={"split": "holdout"}), 422, "bad_split_filter")
    assert_problem(world.alice.get(url, params={"problem": "x%' OR 1=1"}), 422, "bad_rule")


def test_a_twenty_thousand_image_version_pages_correctly(world):
    alice = user_named(world.db, "alice")
    hashes = [f"{i:032x}" for i in range(20_000)]
    with writing(world.db):
        world.db.execute(insert(StoredImage), [{"content_hash": h, "size_bytes": 1, "format": "PNG", "width": 64,
                                                "height": 64} for h in hashes])
        dataset = Dataset(owner_id=alice.id, name="big", status="ready")
        world.db.add(dataset)
        world.db.flush()
        rows = [(h, ("a", "b", "c", "d")[i % 4], ("train", "train", "val", "test", None)[i % 5],
                 f"img/{i:05d}.png", []) for i, h in enumerate(hashes)]
        commit_version(world.db, dataset, None, alice, rows, ["a", "b", "c", "d"], "bulk", {}, None)
    url = f"/api/v1/datasets/{dataset.id}/versions/1/images"
    page = world.alice.get(url, params={"label": "c", "split": "train", "limit": 200, "offset": 400}).json()
    expected = [r[3] for r in rows if r[1] == "c" and r[2] == "train"]
    assert page["total"] == len(expected) and [i["original_name"] for i in page["items"]] == expected[400:600]
    last = world.alice.get(url, params={"limit": 200, "offset": 19_900}).json()
    assert [i["original_name"] for i in last["items"]] == [f"img/{i:05d}.png" for i in range(19_900, 20_000)]
    found = world.alice.get(url, params={"search": "IMG/1234"}).json()
    assert [i["original_name"] for i in found["items"]] == [f"img/1234{d}.png" for d in range(10)]
    counts = world.alice.get(f"/api/v1/datasets/{dataset.id}/versions/1/classes").json()
    assert sum(c["total"] for c in counts.values()) == 20_000


def test_image_files_are_cached_by_hash_and_only_for_readers(world):
    dataset, _, hashes = world.dataset("alice", "pets", IMAGES)
    image = world.alice.get(f"/api/v1/images/{hashes[0]}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == world.store.blobs.path(hashes[0]).read_bytes()
    assert image.headers["etag"] == f'"{hashes[0]}"' and image.headers["cache-control"].startswith("private, max-age=")
    again = world.alice.get(f"/api/v1/images/{hashes[0]}", headers={"If-None-Match": f'"{hashes[0]}"'})
    assert again.status_code == 304 and again.content == b""
    thumb = world.alice.get(f"/api/v1/images/{hashes[0]}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert world.alice.get(f"/api/v1/images/{hashes[0]}/thumbnail",
                           headers={"If-None-Match": thumb.headers["etag"]}).status_code == 304
    for path in (hashes[0], f"{hashes[0]}/thumbnail", f"{hashes[0]}/details", "0" * 32, "../../etc/passwd"):
        assert world.bob.get(f"/api/v1/images/{path}").status_code == 404
    # A 304 is no way around the access check.
    assert_problem(world.bob.get(f"/api/v1/images/{hashes[0]}", headers={"If-None-Match": f'"{hashes[0]}"'}), 404,
                   "image_not_found")
    world.share(dataset.id, "bob", "read")
    assert world.bob.get(f"/api/v1/images/{hashes[0]}").status_code == 200


def test_image_details_list_only_versions_the_user_can_read(world):
    pets, _, hashes = world.dataset("alice", "pets", IMAGES)
    world.dataset("bob", "bobs", [("thing", None, "same-file.png")])  # seed 0: the same file as hashes[0]
    url = f"/api/v1/datasets/{pets.id}/versions"
    world.alice.post(f"{url}/1/images/edit", json={"relabel": [{"hashes": [hashes[0]], "label": "dog"}]})
    details = world.alice.get(f"/api/v1/images/{hashes[0]}/details").json()
    assert (details["format"], details["width"], details["height"]) == ("PNG", 48, 40) and details["size_bytes"] > 0
    assert [(v["dataset_name"], v["version"], v["label"]) for v in details["versions"]] == [
        ("pets", 1, "cat"), ("pets", 2, "dog")]
    bobs = world.bob.get(f"/api/v1/images/{hashes[0]}/details").json()
    assert [(v["dataset_name"], v["version"]) for v in bobs["versions"]] == [("bobs", 1)]
