"""The report figures' fonts: DejaVu Sans (matplotlib's own, so Latin text never changes), then the first
installed CJK font as a per-glyph fallback, so Chinese class names are drawn instead of empty boxes.

Only installed fonts are used (never downloaded), found through matplotlib's font manager. Without
one the family is DejaVu Sans alone: no font lookup warnings, and the figures are as they always were.
"""

from __future__ import annotations

from contextlib import suppress
from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager

LATIN_FONT = "DejaVu Sans"
# Families that cover Simplified Chinese, most compact first (fonts-wqy-microhei is what CI installs).
CJK_FAMILIES = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC",
                "Source Han Sans SC", "Source Han Sans CN", "Droid Sans Fallback")
# Their files' names, lower-case without '-' or '_': how a font missing from matplotlib's cache is found.
_CJK_FILE_MARKS = ("wqy", "notosanscjk", "notosanssc", "sourcehansans", "droidsansfallback")


@lru_cache(maxsize=1)
def figure_font_family() -> tuple[str, ...]:
    """The font.family the figures use: DejaVu Sans, then a CJK font if one is installed."""
    cjk = _cjk_family() or _cjk_family_after_scanning()
    return (LATIN_FONT, cjk) if cjk else (LATIN_FONT,)


def _cjk_family() -> str | None:
    known = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in known), None)


def _cjk_family_after_scanning() -> str | None:
    # matplotlib caches the system's font list once; a font installed after that is not in it.
    for path in font_manager.findSystemFonts():
        name = Path(path).name.lower().replace("-", "").replace("_", "")
        if any(mark in name for mark in _CJK_FILE_MARKS):
            with suppress(Exception):  # an unreadable font file is skipped, never fatal to a report
                font_manager.fontManager.addfont(path)
    return _cjk_family()
