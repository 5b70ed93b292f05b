"""predict_many: folders, zips, single images, broken files, sorted copies; render_result_image."""

from __future__ import annotations

import csv
import io
import stat
import zipfile

import pytest
from PIL import Image

from classmill.infer import CSV_COLUMNS, ArchiveError, predict_many, render_result_image


def _rows(result) -> dict[str, dict]:
    with open(result.csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        return {row["path"]: row for row in reader}


@pytest.fixture()
def mixed_folder(tmp_path, colours, make_two_tone):
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    expected = {}
    for i, name in enumerate(["red", "green", "blue", "dark", "red", "green", "blue"]):
        rel = f"{'sub/' if i % 2 else ''}{i}_{name}.{'png' if i % 3 else 'jpg'}"
        make_two_tone(colours[name], colours["dark" if name != "dark" else "red"]).save(root / rel, quality=95)
        expected[rel] = name
    (root / "zero.jpg").write_bytes(b"")
    (root / "text.jpg").write_text("I am a text file with a .jpg name")
    full = io.BytesIO()
    make_two_tone(colours["red"], colours["blue"], size=(200, 200)).save(full, "JPEG", quality=95)
    (root / "sub" / "truncated.jpg").write_bytes(full.getvalue()[: len(full.getvalue()) // 3])
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden.png").write_bytes(b"")
    return root, expected


def test_folder_with_broken_files(predictor, mixed_folder, tmp_path):
    root, expected = mixed_folder
    calls = []
    result = predict_many(predictor, root, tmp_path / "out", top_k=2, batch_size=3, progress=lambda d, t: calls.append((d, t)))
    rows = _rows(result)
    broken = {"zero.jpg", "text.jpg", "sub/truncated.jpg"}
    assert set(rows) == set(expected) | broken
    for rel, label in expected.items():
        assert rows[rel]["top1"] == label and rows[rel]["error"] == ""
        assert float(rows[rel]["confidence"]) > 0.5
        assert rows[rel]["topk"].startswith(f"{label}:") and rows[rel]["topk"].count(";") == 1
    for rel in broken:
        assert rows[rel]["top1"] == "" and rows[rel]["error"], rel
    assert result.total == 10 and result.predicted == 7 and result.failed == 3
    assert {name for name, _ in result.errors} == broken
    assert result.skipped == ["notes.txt"]
    assert calls[0] == (0, 10) and calls[-1] == (10, 10)
    assert result.label_counts == {"red": 2, "green": 2, "blue": 2, "dark": 1}


def test_sorted_copies_and_rerun_ignores_output(predictor, mixed_folder):
    root, expected = mixed_folder
    out = root / "results"  # inside the input folder on purpose
    result = predict_many(predictor, root, out, sort_into_folders=True)
    for rel, label in expected.items():
        assert (out / label / rel.split("/")[-1]).is_file()
    assert not (out / "red" / "zero.jpg").exists()
    again = predict_many(predictor, root, out, sort_into_folders=True)
    assert again.total == result.total  # its own sorted copies were not picked up


def test_same_name_in_two_folders_is_not_overwritten(predictor, tmp_path, colours, make_two_tone):
    root = tmp_path / "in"
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
        make_two_tone(colours["red"], colours["red"]).save(root / folder / "x.png")
    predict_many(predictor, root, tmp_path / "out", sort_into_folders=True)
    assert sorted(p.name for p in (tmp_path / "out" / "red").iterdir()) == ["x.png", "x_1.png"]


def test_single_image(predictor, tmp_path, colours, make_two_tone):
    path = tmp_path / "one.png"
    make_two_tone(colours["blue"], colours["red"]).save(path)
    result = predict_many(predictor, path, tmp_path / "out")
    assert _rows(result)["one.png"]["top1"] == "blue"


def _zip(path, entries: dict[str, bytes], symlink: str | None = None):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_zip_input(predictor, tmp_path, colours, make_two_tone):
    archive = _zip(
        tmp_path / "in.zip",
        {
            "a/red.png": _png(make_two_tone(colours["red"], colours["blue"])),
            "green.png": _png(make_two_tone(colours["green"], colours["blue"])),
            "broken.png": b"nope",
            "__MACOSX/._green.png": b"resource fork",
            "readme.md": b"hi",
        },
    )
    result = predict_many(predictor, archive, tmp_path / "out", sort_into_folders=True)
    rows = _rows(result)
    assert rows["a/red.png"]["top1"] == "red" and rows["green.png"]["top1"] == "green"
    assert rows["broken.png"]["error"]
    assert result.skipped == ["readme.md"]
    assert (tmp_path / "out" / "red" / "red.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "entries, symlink, limits, match",
    [
        ({"../evil.png": b"x"}, None, {}, "'..'"),
        ({"/abs/evil.png": b"x"}, None, {}, "absolute"),
        ({"ok.png": b"x"}, "link.png", {}, "symbolic link"),
        ({"a.png": b"x", "b.png": b"x", "c.png": b"x"}, None, {"max_entries": 2}, "entries"),
        ({"a.png": b"x" * 100, "b.png": b"x" * 100}, None, {"max_total_bytes": 150}, "unpacks to"),
        ({"a.png": b"x" * 100}, None, {"max_entry_bytes": 50}, "per file"),
    ],
)
def test_unsafe_zip_is_refused(predictor, tmp_path, entries, symlink, limits, match):
    archive = _zip(tmp_path / "bad.zip", entries, symlink)
    with pytest.raises(ArchiveError, match=match):
        predict_many(predictor, archive, tmp_path / "out", **limits)
    assert not (tmp_path / "out" / "predictions.csv").exists()


def test_not_a_zip(predictor, tmp_path):
    (tmp_path / "fake.zip").write_text("not a zip")
    with pytest.raises(ArchiveError, match="not a readable zip"):
        predict_many(predictor, tmp_path / "fake.zip", tmp_path / "out")


def test_render_result_image(predictor, colours, make_two_tone):
    img = make_two_tone(colours["green"], colours["blue"], size=(32, 24))
    prediction = predictor.predict([img])[0]
    rendered = render_result_image(img, prediction)
    assert rendered.mode == "RGB"
    assert rendered.width >= 320 and rendered.height > rendered.width * 24 / 32  # scaled up + caption band
    band = rendered.crop((0, rendered.height - 40, rendered.width, rendered.height))
    assert len(band.getcolors(maxcolors=1 << 16)) > 2  # text was drawn on the band
    big = render_result_image(Image.new("RGB", (4000, 3000)), prediction)
    assert max(big.size) <= 1100


def test_an_image_over_the_pixel_limit_is_a_row_with_the_fix(colour_bundle, tmp_path, colours, make_two_tone):
    from classmill.infer import Predictor

    root = tmp_path / "in"
    root.mkdir()
    make_two_tone(colours["red"], colours["dark"], size=(40, 40)).save(root / "small.png")
    make_two_tone(colours["red"], colours["dark"], size=(300, 200)).save(root / "large.png")
    result = predict_many(Predictor.load(colour_bundle, max_pixels=10_000), root, tmp_path / "out")
    rows = _rows(result)
    assert rows["small.png"]["top1"] == "red"
    error = rows["large.png"]["error"]
    assert "300x200 px" in error and "0.01 MP limit" in error and "--max-megapixels" in error
