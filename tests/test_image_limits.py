"""Pixel bombs are refused from the header, before any decoding; JPEGs decode at the size needed."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from classmill import data
from classmill.data import DatasetPolicy
from classmill.data import probe as probe_module
from classmill.data.probe import probe_file
from classmill.errors import ConfigError, DatasetError
from classmill.image import DEFAULT_MAX_PIXELS, TooManyPixelsError, max_pixels_option, open_rgb
from support.images import exif_rotated_jpeg, huge_png, jpeg_bytes, make_class_folders, noise, save


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares width x height followed by one row of pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    first_row = zlib.compress(b"\x00" * (1 + 3 * width))  # one row of 12,000: the rest is missing
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", first_row))
    return path


def _bmp_header_only(path: Path, width: int, height: int) -> Path:
    """A 24-bit BMP header declaring width x height with no pixel rows: decoding it fails as truncated,
    so a pixel-count refusal proves nothing was decoded. (BMP has no end marker, so the dataset
    probe used to decode such files to check them.)"""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    header = b"BM" + struct.pack("<IHHI", 14 + 40 + width * height * 3, 0, 0, 14 + 40)
    path.write_bytes(header + info + b"\x00" * 64)
    return path


def test_open_rgb_refuses_an_image_over_the_limit_from_its_header(tmp_path):
    path = _bmp_header_only(tmp_path / "bomb.bmp", 12_000, 12_000)
    with pytest.raises(TooManyPixelsError) as err:
        open_rgb(path)
    message = str(err.value)
    assert str(path) in message and "12000x12000" in message and "144.0 megapixels" in message
    assert f"{DEFAULT_MAX_PIXELS / 1e6:g} megapixels" in message
    assert "Resize" in message and "--max-megapixels" in message
    assert isinstance(err.value, DatasetError) and err.value.size == (12_000, 12_000)


def test_a_real_bomb_in_bytes_is_refused_and_named(tmp_path):
    bomb = huge_png(tmp_path / "flat.png", side=12_000).read_bytes()  # ~0.15 MB, 144 MP
    with pytest.raises(TooManyPixelsError, match="upload.png: 12000x12000"):
        open_rgb(bomb, name="upload.png")


def test_the_limit_is_set_per_call(tmp_path):
    path = save(noise((100, 80)), tmp_path / "small.png")
    with pytest.raises(TooManyPixelsError, match="100x80"):
        open_rgb(path, max_pixels=7_999)
    assert open_rgb(path, max_pixels=8_000).size == (100, 80)
    assert open_rgb(path, max_pixels=None).size == (100, 80)


def test_max_megapixels_option_converts_and_refuses_nonsense():
    assert max_pixels_option(None) == DEFAULT_MAX_PIXELS
    assert max_pixels_option(2.5) == 2_500_000
    with pytest.raises(ConfigError, match="--max-megapixels"):
        max_pixels_option(0)


def test_jpeg_is_drafted_to_the_side_preprocessing_needs():
    photo = jpeg_bytes(noise((800, 600), seed=3))
    assert open_rgb(photo).size == (800, 600)
    assert open_rgb(photo, needed_side=100).size == (200, 150)  # 1/4 scale: both sides still >= 100
    assert open_rgb(photo, needed_side=300).size == (400, 300)  # 1/2 scale is the most that keeps 300
    assert open_rgb(photo, needed_side=301).size == (800, 600)  # 1/2 would leave 300: decoded whole
    png = io.BytesIO()
    noise((800, 600)).save(png, "PNG")
    assert open_rgb(png.getvalue(), needed_side=100).size == (800, 600)  # only JPEG can decode at a reduced scale


def test_draft_keeps_the_needed_side_after_exif_rotation(tmp_path):
    path = exif_rotated_jpeg(tmp_path / "rotated.jpg", size=(800, 600), orientation=6)
    full = open_rgb(path)
    assert full.size == (600, 800)
    drafted = open_rgb(path, needed_side=150)
    assert min(drafted.size) >= 150 and drafted.size == (150, 200)


def test_probe_reports_too_many_pixels_without_decoding(tmp_path):
    for path in (_png_header_only(tmp_path / "bomb.png", 12_000, 12_000),
                 _bmp_header_only(tmp_path / "bomb.bmp", 9_000, 9_000)):
        result = probe_file(path, max_pixels=DEFAULT_MAX_PIXELS)
        assert result.failure_rule == "too_many_pixels", (path, result)
        assert "megapixels" in result.failure_detail and result.width * result.height > DEFAULT_MAX_PIXELS


def test_data_check_names_the_over_limit_image_with_a_fix(tmp_path):
    root = tmp_path / "images"
    make_class_folders(root, {"a": 5, "b": 5})
    _bmp_header_only(root / "a" / "bomb.bmp", 9_000, 9_000)
    report = data.check(root, DatasetPolicy(min_images_per_class=5, recommended_images_per_class=5))
    [problem] = [p for p in report.problems if p.file and p.file.endswith("bomb.bmp")]
    assert problem.rule == "too_many_pixels" and problem.fix and "9000x9000" in problem.message


def test_probe_reads_only_the_header_of_a_file_over_the_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_bytes(noise((64, 48))))
    with open(path, "r+b") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, the JPEG header first
    read = []

    def counting_open(*args, **kwargs):
        fh = open(*args, **kwargs)
        plain_read = fh.read
        fh.read = lambda n=-1: read.append(len(chunk := plain_read(n))) or chunk
        return fh

    monkeypatch.setattr(probe_module, "open", counting_open, raising=False)
    result = probe_file(path, max_file_bytes=4 * 1024 * 1024)
    assert result.size_bytes == 50 * 1024 * 1024 and (result.width, result.height) == (64, 48)
    assert result.content_hash == ""  # never hashed: the size rule refuses it anyway
    assert sum(read) < 1024 * 1024, f"read {sum(read)} bytes of a file refused for its size"


def test_probe_still_hashes_and_checks_files_within_the_size_limit(tmp_path):
    path = save(noise((64, 48)), tmp_path / "ok.jpg")
    result = probe_file(path, max_file_bytes=4 * 1024 * 1024, max_pixels=DEFAULT_MAX_PIXELS)
    assert result.failure_rule is None and result.content_hash and (result.width, result.height) == (64, 48)
    assert result.size_bytes == path.stat().st_size
