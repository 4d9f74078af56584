"""Bookmarks on a camera's timeline (issue 12): what a person notes at an instant of recorded
time. Pure: the rules a bookmark obeys, no I/O.

A bookmark says where to look, never what is there: it grants no footage (playing the instant
still needs a grant, services/grants.py), so anyone who may read a camera's timeline may add
one. Its instant lies in the one range of instants (domain/instants.py) and not in the future
(a bookmark marks something seen or recorded, and a clock a little ahead is allowed for); its
note says why, is required, and is bounded so that a list of them stays a list. Only its
author deletes a bookmark; the ledger keeps that it was made and deleted.
"""

from __future__ import annotations

import re

from custodes.domain import instants

NOTE_MAX = 500  # characters of a note
FUTURE_SLACK_US = 60_000_000  # a browser's clock a minute ahead of the server's is not "future"

# Control characters other than tab and newline: nothing a person types, and PostgreSQL text
# holds no NUL (it would fail the insert, not refuse the input).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# message ids (entrypoints/web/locale/*.po)
REQUIRED = "required"
FUTURE = "must not lie in the future"


class BadBookmark(ValueError):
    """An input a bookmark cannot have; `field` names it, `message` is an English msgid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def without_control(text: str) -> str:
    """`text` without control characters other than tab and newline."""
    return _CONTROL.sub("", text)


def clean_note(note: str) -> str:
    """The note as kept: stripped, without control characters (a tab and a newline stay);
    required, at most NOTE_MAX characters."""
    kept = without_control(note).strip()
    if not kept:
        raise BadBookmark("note", REQUIRED)
    if len(kept) > NOTE_MAX:
        raise BadBookmark("note", f"at most {NOTE_MAX} characters")
    return kept


def check_instant(at_us: int, now_us: int, field: str = "at") -> int:
    """`at_us` if a bookmark may mark it: in the range of instants and not after `now_us`
    (with FUTURE_SLACK_US allowed for); else BadBookmark naming `field`."""
    if not instants.in_range(at_us):
        raise BadBookmark(field, instants.MESSAGES["range"])
    if at_us > now_us + FUTURE_SLACK_US:
        raise BadBookmark(field, FUTURE)
    return at_us


def may_delete(author_account_id: int, account_id: int) -> bool:
    """Only the author deletes a bookmark (another's note is not theirs to take back)."""
    return author_account_id == account_id
