"""Every option a task may set has its help in the web catalog, keyed by name (see web/option_texts.py)."""

from __future__ import annotations

from classmill.server.services.tasks import task_option_specs
from classmill.server.web.i18n import translations
from classmill.server.web.option_texts import OPTION_HELP


def test_every_option_the_page_shows_has_help_in_english_and_chinese():
    names = {spec["name"] for spec in task_option_specs()}
    assert names - set(OPTION_HELP) == set(), "add the new option's help to server/web/option_texts.py"
    assert set(OPTION_HELP) - names == set(), "the table names options a task cannot set"
    chinese = translations("zh_CN")
    untranslated = [name for name, text in OPTION_HELP.items() if chinese.gettext(text) == text]
    assert untranslated == []
