"""The message catalogs: every message of the pages has a Chinese translation, and the .mo is the .po compiled.

English is the source text, so only zh_CN has a catalog. The messages are extracted here the way
pybabel does (server/web/i18n/babel.cfg), so a new {% trans %} without a translation fails a test
rather than showing English in a Chinese page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

babel_extract = pytest.importorskip("babel.messages.extract")
from babel.messages.frontend import parse_mapping_cfg  # noqa: E402
from babel.messages.mofile import read_mo  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

import classmill.server.web as web  # noqa: E402
from classmill.server.web.i18n import LOCALES, translations  # noqa: E402

WEB = Path(web.__file__).parent
CATALOG = WEB / "i18n" / "zh_CN" / "LC_MESSAGES"


def _extracted() -> dict[str, str | tuple]:
    with open(WEB / "i18n" / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {}
    for filename, lineno, message, _, _ in babel_extract.extract_from_dir(
            str(WEB), method_map, options_map, keywords=babel_extract.DEFAULT_KEYWORDS):
        found[message[0] if isinstance(message, tuple) else message] = f"{filename}:{lineno}"
    return found


def _po():
    with open(CATALOG / "messages.po", "rb") as fh:
        return read_po(fh, locale="zh_CN")


def test_every_message_of_the_pages_has_a_chinese_translation():
    extracted, catalog = _extracted(), _po()
    assert len(extracted) > 100  # the extraction found the templates
    in_po = {message.id[0] if isinstance(message.id, tuple) else message.id for message in catalog if message.id}
    missing = {msgid: where for msgid, where in extracted.items() if msgid not in in_po}
    assert missing == {}, "run the pybabel commands of server/web/i18n/README.txt and translate"
    assert sorted(in_po - set(extracted)) == [], "the .po keeps messages no page uses: run pybabel update"
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings) and not message.fuzzy, f"untranslated or fuzzy: {message.id!r}"
    problems = [(message.id, errors) for message, errors in catalog.check()]
    assert problems == []  # placeholders like %(name)s match between English and Chinese


def _entries(catalog) -> dict:
    def plain(value):  # a plural's id and strings come as a list from .mo, a tuple from .po
        return tuple(value) if isinstance(value, (list, tuple)) else value
    return {plain(m.id): plain(m.string) for m in catalog if m.id}


def test_the_mo_is_the_po_compiled():
    with open(CATALOG / "messages.mo", "rb") as fh:
        compiled = _entries(read_mo(fh))
    written = _entries(_po())
    assert compiled == written, "compile the catalog: pybabel compile -d src/classmill/server/web/i18n -l zh_CN"


def test_the_running_catalog_translates_and_knows_chinese_plurals():
    assert set(LOCALES) == {"en", "zh_CN"}
    chinese = translations("zh_CN")
    assert chinese.gettext("Datasets") == "数据集"
    plural = chinese.ngettext("%(num)s user on this server.", "%(num)s users on this server.", 5)
    assert plural % {"num": 5} == "本服务器共有 5 个用户。"
    assert translations("en").gettext("Datasets") == "Datasets"
