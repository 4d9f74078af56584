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
import sys
from collections.abc import Mapping
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


CLI_LANG_ENV = "CUSTODES_LANG"  # en or zh: a script's choice, whatever the locale


def cli_lang(environ: Mapping[str, str] = os.environ, encoding: str | None = None) -> str:
    """The command line's language: CUSTODES_LANG if it names one; else the locale's, as
    gettext reads it. The first of LC_ALL, LC_MESSAGES, LANG that is set is the locale;
    under any locale but C/POSIX, LANGUAGE (a list, "zh_CN:en") comes first. Chinese
    under zh, English otherwise — and English where the output cannot carry Chinese
    (`encoding`, standard output's by default: LANG=en_US.ISO-8859-1 LANGUAGE=zh_CN made
    every line a UnicodeEncodeError)."""
    lang = _cli_choice(environ)
    if lang == "zh":
        try:
            "中文".encode(encoding or getattr(sys.stdout, "encoding", None) or "utf-8")
        except (LookupError, UnicodeEncodeError):
            return "en"
    return lang


def _cli_choice(environ: Mapping[str, str]) -> str:
    chosen = environ.get(CLI_LANG_ENV, "").strip().lower()
    if chosen in LANGUAGES:
        return chosen
    locale = next((v for v in (environ.get(n) for n in _LOCALE_VARS) if v), "")
    if locale.split(".")[0] in ("", "C", "POSIX"):
        candidates = [locale]
    else:
        candidates = [*environ.get("LANGUAGE", "").split(":"), locale]
    for value in candidates:
        tag = value.strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag:
            return "en"
    return "en"


_LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")


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
