"""How numbers read in the report's sentences and tables, the same in every module."""

from __future__ import annotations

import math

MISSING = "—"


def percent(value: float | None, digits: int = 1) -> str:
    """0.975 -> "97.5 %"; None (undefined) -> "—"."""
    return MISSING if value is None else f"{value * 100:.{digits}f} %"


def number(value: float | None, digits: int = 3) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def threshold(value: float | None) -> str:
    """Rounded *down* to 4 decimals: applying the printed value keeps at least the reported recall."""
    return MISSING if value is None else f"{math.floor(value * 1e4) / 1e4:.4f}"
