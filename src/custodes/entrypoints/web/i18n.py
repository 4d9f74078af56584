"""UI languages: gettext catalogues (Simplified Chinese, English), chosen per request.

The catalogues are `locale/<lang>.po`, read with Babel at start-up (no compiled .mo files to
keep in step). The `custodes_lang` cookie, set by the language switch, overrides the
browser's Accept-Language.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = {"zh": "简体中文", "en": "English"}
DEFAULT = "zh"
LANG_COOKIE = "custodes_lang"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    po = LOCALE_DIR / f"{lang}.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def choose(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return DEFAULT
