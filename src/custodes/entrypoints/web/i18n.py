"""UI languages: gettext catalogues (Simplified Chinese, English), chosen per request.

The catalogues are `locale/<lang>.po`, read with Babel at start-up (no compiled .mo files to
keep in step). The `custodes_lang` cookie, set by the language switch, overrides the
browser's Accept-Language; the command line follows the locale (`cli_lang`). No web framework
here: the CLI imports this module, and starting `custodes ledger verify` should not load FastAPI.
"""

from __future__ import annotations

import gettext
import io
import os
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from custodes.domain.instants import BadInstant

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


def cli_lang() -> str:
    """The command line's language: Chinese under a zh locale, English otherwise."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


# The inputs a window's end must follow (domain/instants.py `window`'s first name), named in
# words: msgids, and English keeps the name itself.
TIME_FIELDS = ("start", "from")


def bad_instant(exc: BadInstant, lang: str) -> str:
    """A time refused by the one range (domain/instants.py), in `lang`; the input it names
    ("must be after start") in words, any other name as it is."""
    tr = translations(lang)
    params = {
        key: tr.gettext(value) if value in TIME_FIELDS else value
        for key, value in exc.params.items()
    }
    try:
        return tr.gettext(exc.msgid) % params
    except (KeyError, ValueError, TypeError):
        return exc.msgid % exc.params
