"""Chinese class names in the report's figures: drawn with an installed CJK font, Latin text in DejaVu Sans."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib import rc_context

from classmill.evaluate import figures
from classmill.evaluate.fonts import LATIN_FONT, figure_font_family
from classmill.evaluate.metrics import ConfusionMatrix

needs_cjk_font = pytest.mark.skipif(
    len(figure_font_family()) < 2,
    reason="no CJK font installed (Debian: apt-get install fonts-wqy-microhei, as .ci/run does)")


def _confusion() -> ConfusionMatrix:
    counts = np.array([[3, 1], [0, 4]])
    return ConfusionMatrix(labels=["汽车", "bicycle"], counts=counts,
                           row_normalised=counts / counts.sum(axis=1, keepdims=True))


def _glyph_warnings(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures.to_png(draw())
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_latin_text_keeps_dejavu_sans_first():
    assert figure_font_family()[0] == LATIN_FONT


@needs_cjk_font
def test_a_chinese_class_name_is_drawn_without_missing_glyphs():
    assert _glyph_warnings(lambda: figures.confusion_matrix_figure(_confusion())) == []


@needs_cjk_font
def test_without_the_fallback_the_same_figure_misses_glyphs():
    # The check above can fail: DejaVu Sans alone has no 汽 or 车.
    with rc_context({"font.family": [LATIN_FONT]}):
        unpatched = figures.confusion_matrix_figure.__wrapped__(_confusion())
    assert any("Glyph" in message for message in _glyph_warnings(lambda: unpatched))
