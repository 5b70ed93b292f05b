"""The file store: content-addressed, atomic, verified; thumbnails bounded and made from the header-checked decode."""

import pytest
from PIL import Image

from classmill.data.probe import content_hash
from classmill.errors import DatasetError
from classmill.server.store.blobs import LocalBlobStore
from classmill.server.store.thumbnails import make_thumbnail, thumbnail_path
from support.images import huge_png, noise, save


def test_an_image_is_stored_once_under_its_hash(tmp_path):
    src = save(noise((64, 48)), tmp_path / "in" / "a.PNG")
    digest = content_hash(src.read_bytes())
    store = LocalBlobStore(tmp_path / "store")
    store.put(src, digest, ".PNG")
    store.put(src, digest, ".PNG")  # again: nothing new
    stored = store.path(digest)
    assert stored.read_bytes() == src.read_bytes() and stored.name == f"{digest}.png"
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == [stored]  # no temp files
    store.delete(digest)
    assert not store.exists(digest)


def test_a_file_that_changed_since_it_was_hashed_is_not_stored(tmp_path):
    src = save(noise((32, 32)), tmp_path / "a.png")
    store = LocalBlobStore(tmp_path / "store")
    with pytest.raises(ValueError, match="content changed"):
        store.put(src, "0" * 32, ".png")
    assert not store.exists("0" * 32)
    assert not any(p.is_file() for p in (tmp_path / "store").rglob("*"))


def test_a_request_cannot_turn_a_hash_into_a_path(tmp_path):
    store = LocalBlobStore(tmp_path / "store")
    for bad in ("../../etc/passwd", "ab/../../x", ""):
        with pytest.raises(ValueError):
            store.path(bad)


def test_thumbnail_is_bounded_and_rotated_like_training(tmp_path):
    img = noise((600, 300))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: displayed 300 wide, 600 high
    src = tmp_path / "rot.jpg"
    img.save(src, exif=exif.tobytes())
    dest = thumbnail_path(tmp_path / "thumbs", "ab" * 16)
    make_thumbnail(src, dest)
    with Image.open(dest) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (128, 256)


def test_thumbnail_of_a_pixel_bomb_is_refused_from_its_header(tmp_path):
    bomb = huge_png(tmp_path / "bomb.png", 12000)
    dest = tmp_path / "t.jpg"
    with pytest.raises(DatasetError, match="megapixels"):
        make_thumbnail(bomb, dest)
    assert not dest.exists()
