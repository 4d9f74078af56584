"""Times from outside, at the entrypoints: the one range (domain/instants.py), refused in the
user's language — a 422 naming the field for the web, an error line for the CLI."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from custodes.domain import instants
from custodes.domain.instants import BadInstant
from custodes.entrypoints.web import i18n
from custodes.entrypoints.web.deps import field_error


def request_lang(request: Request) -> str:
    """The request's language: the language switch's cookie, else Accept-Language."""
    return i18n.choose(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )


LangDep = Annotated[str, Depends(request_lang)]


def cli_lang() -> str:
    """The command line's language: Chinese under a zh locale, English otherwise."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def message(exc: BadInstant, lang: str) -> str:
    """The refusal in `lang`."""
    return i18n.translations(lang).gettext(exc.msgid) % exc.params


def refusal(exc: BadInstant, location: str, lang: str) -> HTTPException:
    return field_error(location, exc.field, message(exc, lang))


def instant(value: datetime, *, location: str, name: str, lang: str) -> int:
    """µs of a time the request gave (UTC if it has no zone); a 422 outside the range."""
    try:
        return instants.from_datetime(value, name)
    except BadInstant as exc:
        raise refusal(exc, location, lang) from None


def window(
    start: datetime, end: datetime, *, location: str, names: tuple[str, str], lang: str
) -> tuple[int, int]:
    """(start, end) in µs, both in the range and end after start; else a 422 naming the field."""
    a = instant(start, location=location, name=names[0], lang=lang)
    b = instant(end, location=location, name=names[1], lang=lang)
    try:
        return instants.window(a, b, names)
    except BadInstant as exc:
        raise refusal(exc, location, lang) from None
