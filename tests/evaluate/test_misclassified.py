"""Misclassified examples: grouping, worst-first order, caps and thumbnails."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from classmill.evaluate.inputs import validate_predictions
from classmill.evaluate.misclassified import attach_thumbnails, make_thumbnail, select_misclassified

from .conftest import make_images


def test_grouped_by_true_class_worst_first_with_top3():
    probs = np.array(
        [
            [0.1, 0.6, 0.3],  # a -> b at 0.6
            [0.05, 0.9, 0.05],  # a -> b at 0.9 (worst)
            [0.8, 0.1, 0.1],  # a right
            [0.7, 0.2, 0.1],  # c -> a at 0.7
        ]
    )
    groups = select_misclassified(validate_predictions([0, 0, 0, 2], probs, ["a", "b", "c"]))
    assert [(g.true_label, g.total_wrong) for g in groups] == [("a", 2), ("c", 1)]
    first = groups[0].shown
    assert [e.index for e in first] == [1, 0]
    assert first[0].predicted_label == "b" and first[0].confidence == 0.9
    assert first[0].true_label_probability == 0.05
    assert [(r.label, r.probability) for r in first[1].top] == [("b", 0.6), ("c", 0.3), ("a", 0.1)]
    assert first[0].image_path is None and first[0].thumbnail_jpeg_base64 is None


def test_caps_per_class_and_in_total():
    n = 30
    probs = np.tile([0.2, 0.8], (n, 1))
    probs[:, 1] -= np.linspace(0, 0.2, n)
    probs[:, 0] = 1 - probs[:, 1]
    predictions = validate_predictions(np.zeros(n, dtype=int), probs, ["a", "b"])
    [group] = select_misclassified(predictions, per_class_cap=5)
    assert group.total_wrong == n and [e.index for e in group.shown] == [0, 1, 2, 3, 4]
    [group] = select_misclassified(predictions, per_class_cap=12, total_cap=3)
    assert len(group.shown) == 3


def test_thumbnails_are_small_jpegs_and_broken_files_do_not_stop_the_report(tmp_path):
    paths = make_images(tmp_path, 3, size=(400, 200))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    paths.append(tmp_path / "broken.jpg")
    paths.append(tmp_path / "missing.jpg")
    probs = np.tile([0.1, 0.9], (5, 1))
    predictions = validate_predictions(np.zeros(5, dtype=int), probs, ["a", "b"], paths)
    [group] = attach_thumbnails(select_misclassified(predictions))
    by_index = {e.index: e for e in group.shown}
    thumbnail = Image.open(io.BytesIO(base64.b64decode(by_index[0].thumbnail_jpeg_base64)))
    assert thumbnail.format == "JPEG" and thumbnail.size == (96, 48)
    assert by_index[2].thumbnail_jpeg_base64  # the PNG one
    assert by_index[3].thumbnail_jpeg_base64 is None and "cannot decode" in by_index[3].thumbnail_error
    assert by_index[4].thumbnail_error == "image file not found"


def test_thumbnail_respects_exif_orientation(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.new("RGB", (200, 100), (200, 30, 30)).save(path, exif=exif)
    encoded, error = make_thumbnail(str(path))
    assert error is None
    assert Image.open(io.BytesIO(base64.b64decode(encoded))).size == (48, 96)
