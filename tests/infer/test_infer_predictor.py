"""Predictor: right answers, every input form, every awkward image format decoded as training does."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from classmill.errors import DatasetError, UserError
from classmill.infer import BundleError, Predictor


def test_predicts_known_colours_with_top_k(predictor, colours, make_two_tone):
    images = [make_two_tone(colours[name], colours["blue" if name != "blue" else "red"]) for name in colours]
    predictions = predictor.predict(images, top_k=3)
    assert [p.label for p in predictions] == list(colours)
    for p in predictions:
        assert p.confidence > 0.9
        assert len(p.top_k) == 3 and p.top_k[0] == (p.label, p.confidence)
        assert [prob for _, prob in p.top_k] == sorted((prob for _, prob in p.top_k), reverse=True)
        assert p.probs.shape == (4,) and abs(float(p.probs.sum()) - 1) < 1e-5
        assert p.to_dict()["top_k"][0] == {"label": p.label, "prob": p.confidence}


def test_accepts_pil_path_str_and_bytes(predictor, colours, make_two_tone, tmp_path):
    img = make_two_tone(colours["green"], colours["red"])
    path = tmp_path / "g.png"
    img.save(path)
    labels = [p.label for p in predictor.predict([img, path, str(path), path.read_bytes()])]
    assert labels == ["green"] * 4


def test_top_k_is_clamped_and_validated(predictor, colours, make_two_tone):
    img = make_two_tone(colours["red"], colours["red"])
    assert len(predictor.predict([img], top_k=50)[0].top_k) == 4
    with pytest.raises(UserError, match="top_k"):
        predictor.predict([img], top_k=0)


def test_predict_proba_checks_shape(predictor):
    probs = predictor.predict_proba(np.zeros((2, 3, 32, 32), np.float32))
    assert probs.shape == (2, 4)
    with pytest.raises(UserError, match="shape"):
        predictor.predict_proba(np.zeros((2, 3, 16, 16), np.float32))


def test_metadata_labels_spec_come_from_bundle(predictor):
    assert predictor.labels == ["red", "green", "blue", "dark"]
    assert predictor.spec.input_size == 32
    assert predictor.metadata["name"] == "colour-test"
    assert predictor.providers[-1] == "CPUExecutionProvider"


def test_unreadable_image_names_problem(predictor):
    with pytest.raises(DatasetError, match="cannot be decoded"):
        predictor.predict([b"this is text, not a picture"])


def test_missing_bundle_and_int8_are_user_errors(tmp_path, colour_bundle):
    with pytest.raises(BundleError, match="no such bundle"):
        Predictor.load(tmp_path / "nope.cmb")
    (tmp_path / "junk.cmb").write_text("junk")
    with pytest.raises(BundleError, match="not a zip"):
        Predictor.load(tmp_path / "junk.cmb")
    with pytest.raises(BundleError, match="int8"):
        Predictor.load(colour_bundle, int8=True)
    with pytest.raises(UserError, match="provider"):
        Predictor.load(colour_bundle, providers=["NoSuchExecutionProvider"])


# --- awkward formats: each must reach the model exactly as classmill.image decodes it ------------


def _encode(img: Image.Image, fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()


def test_cmyk_jpeg(predictor, colours, make_two_tone):
    cmyk = make_two_tone(colours["red"], colours["blue"]).convert("CMYK")
    data = _encode(cmyk, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert predictor.predict([data])[0].label == "red"


def test_16_bit_png_is_scaled_not_clipped(predictor):
    # ~8% grey in 16 bits: scaled to 8 bits it is near-black ("dark"); clipped it would be white.
    arr = np.full((40, 40), 5000, dtype=np.uint16)
    data = _encode(Image.fromarray(arr), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    assert predictor.predict([data])[0].label == "dark"


def test_palette_with_transparency_composites_on_white(predictor):
    # Top half: left transparent (palette black), right red. On white that is pinkish-red;
    # treated as black it would be "dark".
    img = Image.new("P", (40, 40), 0)
    img.putpalette([0, 0, 0, 230, 20, 20, 25, 30, 220] + [0] * (256 * 3 - 9))
    img.paste(1, (20, 0, 40, 20))
    img.paste(2, (0, 20, 40, 40))
    data = _encode(img, "PNG", transparency=0)
    assert Image.open(io.BytesIO(data)).mode == "P"
    assert predictor.predict([data])[0].label == "red"


def test_exif_rotation_is_applied(predictor, colours, make_two_tone):
    # Stored upside down (blue on top) with orientation 3: displayed, red is on top.
    stored = make_two_tone(colours["blue"], colours["red"])
    exif = Image.Exif()
    exif[0x0112] = 3
    data = _encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    assert predictor.predict([data])[0].label == "red"
    assert predictor.predict([stored])[0].label == "blue"  # without EXIF it would be this


def test_pil_image_with_alpha(predictor, colours):
    img = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    img.paste(Image.new("RGBA", (40, 20), colours["green"] + (255,)), (0, 0))
    assert predictor.predict([img])[0].label == "green"


def test_pixel_limit_and_draft_apply_to_every_decode(colour_bundle, colours, make_two_tone, tmp_path):
    from classmill.image import TooManyPixelsError

    path = tmp_path / "big.jpg"
    make_two_tone(colours["green"], colours["dark"], size=(400, 400)).save(path, quality=95)
    strict = Predictor.load(colour_bundle, max_pixels=100_000)  # 400x400 = 160,000 px
    with pytest.raises(TooManyPixelsError, match="big.jpg: 400x400"):
        strict.prepare(path)
    with pytest.raises(TooManyPixelsError):
        strict.predict([path.read_bytes()])
    loose = Predictor.load(colour_bundle)
    # resize_size is 32: the JPEG decodes at 1/8 scale, still >= 32 px a side, and answers the same.
    assert loose.decode(path).size == (50, 50)
    assert loose.predict([path])[0].label == "green"
