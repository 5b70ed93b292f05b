"""Datasets for the server tests, made straight through the store and services (no import route needed)."""

from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from classmill.data.probe import content_hash
from classmill.server.db.datasets import Dataset, DatasetVersion, StoredImage
from classmill.server.db.models import User
from classmill.server.db.session import writing
from classmill.server.services.version_commit import commit_version
from classmill.server.store.layout import StoreLayout
from classmill.server.store.thumbnails import make_thumbnail, thumbnail_path
from support.images import noise


def store_image(session: Session, store: StoreLayout, seed: int, size=(48, 40)) -> str:
    """A distinct tiny PNG in the store (file, thumbnail, then row); returns its hash."""
    buffer = io.BytesIO()
    noise(size, seed=seed).save(buffer, format="PNG")
    data = buffer.getvalue()
    digest = content_hash(data)
    source = store.scratch / f"seed-{seed}.png"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    store.blobs.put(source, digest, ".png")
    make_thumbnail(store.blobs.path(digest), thumbnail_path(store.thumbnails, digest))
    source.unlink()
    if session.get(StoredImage, digest) is None:
        with writing(session):
            session.add(StoredImage(content_hash=digest, size_bytes=len(data), format="PNG",
                                    width=size[0], height=size[1]))
    return digest


def user_named(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def make_dataset(session: Session, store: StoreLayout, owner: User, name: str,
                 images: list[tuple[str, str | None, str]], classes: list[str] | None = None,
                 seed: int = 0) -> tuple[Dataset, DatasetVersion, list[str]]:
    """Dataset `name` of `owner` with version 1 of `images` [(label, split, original_name)]; returns the hashes too."""
    hashes = [store_image(session, store, seed * 10_000 + i) for i in range(len(images))]
    classes = classes or sorted({label for label, _, _ in images})
    with writing(session):
        dataset = Dataset(owner_id=owner.id, name=name, status="ready")
        session.add(dataset)
        session.flush()
        rows = [(h, label, split, original, []) for h, (label, split, original) in zip(hashes, images)]
        version = commit_version(session, dataset, None, owner, rows, classes, "imported", {}, None)
    return dataset, version, hashes
