"""Rendering a page: the visitor's language, the context every template shares, the headers every page carries."""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from classmill import __version__
from classmill.server.web.check_rule_texts import rule_title
from classmill.server.web.error_texts import translated_error, translated_error_texts
from classmill.server.web.flash import clear_flash, take_flash
from classmill.server.web.i18n import (LANGUAGE_COOKIE, LOCALES, choose_locale, format_number, format_size,
                                       format_when, html_lang, iso_when, translations)
from classmill.server.web.static import static_url
from classmill.server.web.visitors import CSRF_FIELD, Visitor

TEMPLATES = Path(__file__).parent / "templates"

# Scripts and styles come only from /static (nothing inline, nothing from another host). 'unsafe-eval'
# is Alpine.js's: its standard build compiles the x-* attribute expressions with Function().
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self'; "
                           "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                           "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages carry the CSRF token and the user's data
}


@lru_cache(maxsize=None)
def environment(locale: str) -> Environment:
    """One Jinja2 environment per language, its catalog installed ({% trans %}, _(), ngettext)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(locale), newstyle=True)
    env.globals.update(static_url=static_url, languages=LOCALES, locale=locale, html_lang=html_lang(locale),
                       csrf_field_name=CSRF_FIELD, version=__version__)
    env.globals["translated_error"] = partial(translated_error, gettext=translations(locale).gettext)
    env.globals["error_texts"] = translated_error_texts(translations(locale).gettext)  # for page scripts
    env.filters.update(number=partial(format_number, locale=locale), size=partial(format_size, locale=locale),
                       when=format_when, iso=iso_when,
                       rule_title=partial(rule_title, gettext=translations(locale).gettext))
    return env


def request_locale(request: Request) -> str:
    return choose_locale(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


def render(request: Request, template: str, *, visitor: Visitor | None, status: int = 200,
           **context) -> HTMLResponse:
    """The page `template` for this request, in the visitor's language, with any pending flash message."""
    locale = request_locale(request)
    flash = take_flash(request, translations(locale).gettext)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = environment(locale).get_template(template).render(
        visitor=visitor, csrf=visitor.csrf if visitor else "", here=here, flash=flash, **context)
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    if flash is not None:
        clear_flash(response)
    return response
