"""Every kind of bad or odd input a user hands over: each is named with the right rule, and
every valid file is still there afterwards."""

import os
import zipfile

import numpy as np
import pytest
from PIL import Image

from classmill import data
from classmill.data import DatasetPolicy
from classmill.data.readers.zip_safety import ArchiveLimits
from classmill.errors import DatasetError
from classmill.image import open_rgb
from support.images import exif_rotated_jpeg, huge_png, jpeg_bytes, make_class_folders, noise, save

POLICY = DatasetPolicy(min_images_per_class=5, recommended_images_per_class=5)


@pytest.fixture()
def messy_dataset(tmp_path):
    root = tmp_path / "messy data"
    valid = make_class_folders(root, {"ok": 6, "ng": 6})
    good_jpeg = jpeg_bytes(noise((64, 64), seed=99))
    bad = {}
    bad["truncated"] = root / "ok" / "truncated.jpg"
    bad["truncated"].write_bytes(good_jpeg[: len(good_jpeg) // 2])
    bad["empty_file"] = root / "ok" / "zero.jpg"
    bad["empty_file"].write_bytes(b"")
    bad["not_an_image"] = root / "ng" / "notes.jpg"
    bad["not_an_image"].write_text("this is a text file, not a photo")
    bad["decompression_bomb"] = huge_png(root / "ng" / "huge.png")
    outside = save(noise(seed=5), tmp_path / "outside.jpg")
    bad["path_outside_root"] = root / "ok" / "link.jpg"
    os.symlink(outside, bad["path_outside_root"])
    # The same bytes under two labels: which is right?
    dup_bytes = jpeg_bytes(noise((50, 50), seed=1234))
    conflict_a, conflict_b = root / "ok" / "dup.jpg", root / "ng" / "dup copy.jpg"
    conflict_a.write_bytes(dup_bytes)
    conflict_b.write_bytes(dup_bytes)
    bad["nested_folder"] = save(noise(seed=6), root / "ok" / "deeper" / "n.jpg")
    bad["unsupported_format"] = save(noise(seed=8), root / "ng" / "anim.gif")
    bad["image_too_small"] = save(noise((20, 80), seed=9), root / "ng" / "thin.jpg")
    bad["aspect_ratio"] = save(noise((400, 100), seed=10), root / "ng" / "wide.jpg")

    # Valid oddities: must be accepted and normalised to RGB.
    odd = {}
    odd["cmyk"] = save(Image.new("CMYK", (48, 48), (0, 255, 255, 0)), root / "ok" / "cmyk.jpg")
    arr16 = (np.arange(48 * 48, dtype=np.uint16).reshape(48, 48) * 28).astype(np.uint16)
    odd["16bit"] = save(Image.fromarray(arr16), root / "ok" / "deep16.png")
    pal = Image.new("P", (48, 48), 0)
    pal.putpalette([255, 0, 0] * 256)
    pal.info["transparency"] = 0
    odd["palette"] = save(pal, root / "ng" / "palette.png", transparency=0)
    odd["exif"] = exif_rotated_jpeg(root / "ng" / "rotated.jpg")
    odd["unicode"] = save(noise(seed=11), root / "ok" / "缺陷 图片 (1).v2.jpg")
    odd["png_named_jpg"] = save(noise(seed=12), root / "ok" / "really_png.jpg", "PNG")
    # System files: ignored and counted, never errors.
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "ok" / "Thumbs.db").write_bytes(b"\x00")
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "._x.jpg").write_bytes(b"\x00")
    (root / "ng" / ".ipynb_checkpoints").mkdir()
    (root / "ng" / ".ipynb_checkpoints" / "a.jpg").write_bytes(b"\x00")
    return root, valid, bad, odd, (conflict_a, conflict_b)


def test_every_bad_file_is_named_with_its_rule_and_valid_files_survive(messy_dataset):
    root, valid, bad, odd, conflicts = messy_dataset
    report = data.check(root, POLICY)
    assert not report.ok
    by_file = {}
    for p in report.problems:
        by_file.setdefault(p.file, set()).add(p.rule)
    for rule, path in bad.items():
        ref = str(path.relative_to(root))
        if rule == "nested_folder":
            ref = str(path.parent.relative_to(root)) + "/"
        assert rule in by_file.get(ref, set()), f"{ref} should be reported as {rule}, got {by_file.get(ref)}"
    for path in conflicts:
        assert "conflicting_labels" in by_file[str(path.relative_to(root))]
    assert "extension_mismatch" in by_file[str(odd["png_named_jpg"].relative_to(root))]
    # Every problem carries a fix a person can act on.
    assert all(p.fix and p.message for p in report.problems)
    usable = {r.ref for r in report.dataset.records}
    for path in valid + list(odd.values()):
        assert str(path.relative_to(root)) in usable
    for path in list(bad.values()) + list(conflicts):
        assert str(path.relative_to(root)) not in usable
    assert len(report.dataset.ignored) == 4
    assert report.to_dict()["ignored_files"] == 4


def test_valid_oddities_decode_to_rgb_with_orientation_applied(messy_dataset):
    root, _, _, odd, _ = messy_dataset
    report = data.check(root, POLICY)
    rec = {r.ref: r for r in report.dataset.records}
    rotated = rec[str(odd["exif"].relative_to(root))]
    assert (rotated.width, rotated.height) == (40, 60)  # stored 60x40, EXIF says rotate 90
    for name, path in odd.items():
        img = open_rgb(path)
        assert img.mode == "RGB", name
    assert open_rgb(odd["exif"]).size == (40, 60)
    assert open_rgb(odd["palette"]).getpixel((0, 0)) == (255, 255, 255)  # transparent -> white
    assert open_rgb(odd["cmyk"]).getpixel((0, 0))[0] > 200  # cyan-free, magenta+yellow ink -> red
    sixteen = np.asarray(open_rgb(odd["16bit"]))
    assert sixteen.max() > 200 and sixteen.min() < 10  # full 16-bit range mapped, not clipped


def test_decompression_bomb_does_not_crash_decoding(tmp_path):
    path = huge_png(tmp_path / "bomb.png")
    with pytest.raises(DatasetError, match="too large"):
        open_rgb(path)


def test_zip_slip_entries_are_refused_and_reported(tmp_path):
    src = tmp_path / "src"
    valid = make_class_folders(src, {"a": 5, "b": 5})
    zpath = tmp_path / "data.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in valid:
            zf.write(p, str(p.relative_to(src)))
        zf.writestr("../escape.jpg", jpeg_bytes(noise(seed=3)))
        zf.writestr("/etc/evil.jpg", jpeg_bytes(noise(seed=4)))
        link = zipfile.ZipInfo("a/link.jpg")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    extract_dir = tmp_path / "x"
    report = data.check(zpath, POLICY, extract_dir=extract_dir)
    unsafe = {p.file for p in report.problems if p.rule == "unsafe_archive_entry"}
    assert unsafe == {"../escape.jpg", "/etc/evil.jpg", "a/link.jpg"}
    assert not (tmp_path / "escape.jpg").exists()
    assert not any(p.is_symlink() for p in extract_dir.rglob("*"))
    assert len(report.dataset.records) == 10


def test_zip_bomb_is_refused_before_filling_the_disk(tmp_path):
    zpath = tmp_path / "bomb.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/zeros.jpg", b"\x00" * (50 * 2**20))
    policy = DatasetPolicy(archive=ArchiveLimits(max_total_bytes=10 * 2**20))
    with pytest.raises(DatasetError, match="zip bomb"):
        data.check(zpath, policy, extract_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert not list(tmp_path.glob("x.partial-*"))


def test_zip_whose_declared_sizes_lie_is_stopped_while_extracting(tmp_path):
    zpath = tmp_path / "liar.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/zeros.jpg", b"\x00" * (8 * 2**20))
    # Shrink the declared size in the central directory and the local header.
    raw = bytearray(zpath.read_bytes())
    true_size = (8 * 2**20).to_bytes(4, "little")
    raw = raw.replace(true_size, (100).to_bytes(4, "little"))
    zpath.write_bytes(bytes(raw))
    # The declared 100 bytes pass the size limit; extraction must still never write the 8 MB.
    with pytest.raises(DatasetError, match="damaged|zip bomb"):
        data.check(zpath, DatasetPolicy(archive=ArchiveLimits(max_total_bytes=2 * 2**20)), extract_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_zip_entry_count_limit(tmp_path):
    zpath = tmp_path / "many.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for i in range(30):
            zf.writestr(f"a/{i}.txt", b"x")
    with pytest.raises(DatasetError, match="entries"):
        data.check(zpath, DatasetPolicy(archive=ArchiveLimits(max_entries=10)), extract_dir=tmp_path / "x")


def test_not_a_zip_is_a_clear_error(tmp_path):
    zpath = tmp_path / "broken.zip"
    zpath.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DatasetError, match="not a readable zip"):
        data.check(zpath, extract_dir=tmp_path / "x")


def test_class_rules(tmp_path):
    make_class_folders(tmp_path / "d", {"big": 30, "small": 3, "mid": 8})
    (tmp_path / "d" / "empty").mkdir()
    report = data.check(tmp_path / "d", DatasetPolicy(min_images_per_class=5, recommended_images_per_class=10,
                                                      max_class_share=0.6))
    rules = {(p.rule, p.label) for p in report.problems}
    assert ("too_few_images", "small") in rules
    assert ("too_few_images", "empty") in rules
    assert ("few_images", "mid") in rules
    assert ("class_imbalance", "big") in rules
    assert report.dataset.counts()["empty"] == 0
    single = tmp_path / "one"
    make_class_folders(single, {"only": 25})
    assert "too_few_classes" in {p.rule for p in data.check(single).problems}


def test_header_check_does_not_decode_jpeg_pixels(tmp_path, monkeypatch):
    make_class_folders(tmp_path / "d", {"a": 20, "b": 20})
    from PIL import ImageFile

    decoded = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(1) or original(self))
    data.check(tmp_path / "d")
    assert decoded == []
    data.check(tmp_path / "d", DatasetPolicy(deep=True))
    assert len(decoded) == 40
