"""Times from outside the web: the one range (domain/instants.py), refused in the user's
language as a 422 naming the field (the CLI says it with `i18n.bad_instant`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException

from custodes.domain import instants
from custodes.domain.instants import BadInstant
from custodes.entrypoints.web import i18n
from custodes.entrypoints.web.deps import field_error, request_language

LangDep = Annotated[str, Depends(request_language)]


def refusal(exc: BadInstant, location: str, lang: str) -> HTTPException:
    return field_error(location, exc.field, i18n.bad_instant(exc, lang))


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
