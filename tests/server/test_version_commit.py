"""commit_version numbers versions per dataset and stores every image row."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, insert, select

from classmill.server.db.datasets import Dataset, DatasetVersion, StoredImage, VersionImage
from classmill.server.db.models import User
from classmill.server.db.session import make_engine, session_factory, writing
from classmill.server.services.version_commit import commit_version
from classmill.server.store.layout import StoreLayout
from support.server_datasets import make_dataset


@pytest.fixture
def db(settings):
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def store(settings):
    return StoreLayout(settings.workspace)


def _user(session, name="alice"):
    with writing(session):
        user = User(username=name, password_hash="x")
        session.add(user)
    return user


def test_versions_are_numbered_per_dataset_and_hold_their_rows(db, store):
    alice = _user(db)
    first, v1, hashes = make_dataset(db, store, alice, "a", [("cat", "train", "cat/1.png"), ("dog", None, "dog/1.png")])
    other, w1, _ = make_dataset(db, store, alice, "b", [("x", None, "x.png")], seed=1)
    assert (v1.number, w1.number, v1.image_count) == (1, 1, 2)
    with writing(db):
        v2 = commit_version(db, first, v1, alice, [(hashes[0], "dog", "val", "cat/1.png", ["duplicates"])],
                            ["cat", "dog"], "relabelled", {"ok": True}, {"val": 0.2, "test": 0, "seed": 0})
    assert (v2.number, v2.parent_id, v2.image_count, v2.classes) == (2, v1.id, 1, ["cat", "dog"])
    row = db.scalar(select(VersionImage).where(VersionImage.version_id == v2.id))
    assert (row.label, row.split, row.problems) == ("dog", "val", ["duplicates"])
    assert db.get(Dataset, first.id).updated_at >= v2.created_at


def test_rows_that_contradict_the_classes_are_refused_and_nothing_is_written(db, store):
    alice = _user(db)
    dataset, v1, hashes = make_dataset(db, store, alice, "a", [("cat", None, "1.png")])
    with pytest.raises(ValueError, match="not one of the classes"):
        with writing(db):
            commit_version(db, dataset, v1, alice, [(hashes[0], "bird", None, "1.png", [])], ["cat"], "", {}, None)
    with pytest.raises(ValueError, match="twice"):
        with writing(db):
            commit_version(db, dataset, v1, alice, [(hashes[0], "cat", None, "1.png", [])] * 2, ["cat"], "", {}, None)
    assert db.scalar(select(func.count()).select_from(VersionImage)) == 1


def test_twenty_thousand_rows_go_in_as_one_bulk_insert(db):
    alice = _user(db)
    with writing(db):
        dataset = Dataset(owner_id=alice.id, name="big")
        db.add(dataset)
        db.flush()
        # Only the rows matter here: StoredImage rows without files, inserted in bulk too.
        fake = [f"{i:032x}" for i in range(20_000)]
        db.execute(insert(StoredImage), [{"content_hash": h, "size_bytes": 1, "format": "PNG", "width": 1,
                                          "height": 1} for h in fake])
        version = commit_version(db, dataset, None, alice, [(h, "a" if i % 2 else "b", None, f"{i}.png", [])
                                                             for i, h in enumerate(fake)], ["a", "b"], "", {}, None)
    assert version.image_count == 20_000
    assert db.scalar(select(func.count()).where(VersionImage.version_id == version.id)) == 20_000


def test_concurrent_commits_get_distinct_numbers(settings, db, store):
    alice = _user(db)
    dataset, v1, hashes = make_dataset(db, store, alice, "a", [("cat", None, "1.png")])
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)

    def commit_three(_):
        with factory() as session:
            for _ in range(3):
                with writing(session):
                    commit_version(session, session.get(Dataset, dataset.id), None, session.get(User, alice.id),
                                   [(hashes[0], "cat", None, "1.png", [])], ["cat"], "", {}, None)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(commit_three, range(4)))
    engine.dispose()
    numbers = sorted(db.scalars(select(DatasetVersion.number).where(DatasetVersion.dataset_id == dataset.id)))
    assert numbers == list(range(1, 14))
