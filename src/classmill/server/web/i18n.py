"""The pages' languages: English (the source text) and Simplified Chinese (a compiled Babel catalog).

A visitor's language is the one they chose (a cookie, so it holds before login and across logins),
else the first language of their browser's Accept-Language that we have, else English.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

CATALOGS = Path(__file__).parent / "i18n"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
LOCALES = {"en": "English", "zh_CN": "简体中文"}  # code -> the language's own name, as the switch shows it
LANGUAGE_COOKIE = "classmill_lang"
LANGUAGE_COOKIE_DAYS = 365


def choose_locale(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LOCALES:
        return cookie
    for tag in preferred_languages(accept_language or ""):
        primary = tag.split("-")[0]
        if primary == "zh":  # the only Chinese we have; most readers of Traditional read Simplified too
            return "zh_CN"
        if primary == "en":
            return "en"
    return DEFAULT_LOCALE


def preferred_languages(header: str) -> list[str]:
    """Accept-Language's tags, lower-case, best first; q=0 (not acceptable) and malformed entries dropped."""
    ranked = []
    for position, part in enumerate(header.split(",")[:32]):  # a hostile header is cut, not parsed whole
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower().replace("_", "-")))
    return [tag for _, _, tag in sorted(ranked)]


def html_lang(locale: str) -> str:
    return locale.replace("_", "-")


@lru_cache(maxsize=None)
def translations(locale: str) -> NullTranslations:
    """The catalog of `locale` (English needs none). A missing catalog is an error, never silent English."""
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    with open(CATALOGS / locale / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as fh:
        return Translations(fh, domain=DOMAIN)


def format_number(value: int | float, locale: str) -> str:
    return format_decimal(value, locale=locale)


def format_size(size_bytes: int | float, locale: str) -> str:
    """A file's size in MB with one decimal, or in whole KB below 0.1 MB, where "0.0 MB" would say nothing."""
    if size_bytes < 100_000:
        return f"{format_decimal(round(size_bytes / 1000) or (1 if size_bytes else 0), locale=locale)} KB"
    return f"{format_decimal(round(size_bytes / 1e6, 1), format='#,##0.0', locale=locale)} MB"


def format_when(value: datetime | None) -> str:
    """A moment as 'YYYY-MM-DD HH:MM UTC' (app.js shows it in the browser's time zone: same shape, no jump)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def iso_when(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")
