"""Every UI string goes through gettext and has a Simplified Chinese translation."""

from __future__ import annotations

import re

import pytest

from custodes.entrypoints.web import i18n
from custodes.entrypoints.web.pages import ALARM_TITLES, JS_STRINGS, TEMPLATES
from custodes.entrypoints.web.pages_access import (
    ACTION_LABELS,
    BASIS_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
)

_CALL = re.compile(r"""_\(\s*(["'])(.+?)\1""")
STATES = ("recording", "reconnecting", "starting", "stopped", "idle", "error", "disk-full")


def _template_strings() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        found |= {m.group(2) for m in _CALL.finditer(path.read_text(encoding="utf-8"))}
    return found


def test_every_string_has_a_chinese_translation() -> None:
    wanted = _template_strings() | set(JS_STRINGS) | set(STATES) | set(ALARM_TITLES.values())
    for labels in (ACTION_LABELS, BASIS_LABELS, STATE_LABELS, ROLE_LABELS):
        wanted |= set(labels.values())
    assert len(wanted) > 40
    zh = i18n.translations("zh")
    missing = sorted(s for s in wanted if zh.gettext(s) == s)
    assert missing == []
    en = i18n.translations("en")
    assert all(en.gettext(s) == s for s in wanted)


@pytest.mark.parametrize(
    ("cookie", "header", "lang"),
    [
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, "en-GB,en;q=0.9", "en"),
        ("en", "zh-CN", "en"),
        ("zh", "en-US", "zh"),
        ("xx", None, "zh"),
    ],
)
def test_language_choice(cookie: str | None, header: str | None, lang: str) -> None:
    assert i18n.choose(cookie, header) == lang
