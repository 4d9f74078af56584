"""The changes that wait for a second person (docs/DUTIES.md), as the /changes page shows
them: the kind in words, the account, what changes, who proposed it and when it lapses.

Total: a stored change is whatever the table holds (a kind no code knows, details that are
not what the proposal wrote, values of any JSON type); every one renders, as far as it can be
read, and none makes the page fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from gettext import NullTranslations
from typing import Any

from custodes.domain.duties import ChangeKind
from custodes.entrypoints.web import i18n
from custodes.entrypoints.web.labels import CHANGE_KIND_LABELS, ROLE_LABELS
from custodes.entrypoints.web.wording import actor, say
from custodes.services.accounts import PendingChange
from custodes.services.ledger import account_actor

TEXT_MAX = 200  # a stored value is shown up to this many characters
# msgids (locale/*.po)
UNKNOWN_KIND = "A change of a kind this version does not know (%(kind)s)"
PAIR = "%(label)s: %(value)s"  # a field and its value (Chinese: a full-width colon)
WHAT = {
    ChangeKind.PASSWORD_RESET.value: "A new password, used once: the proposer chose or saw it",
    ChangeKind.ENABLE.value: "The account can log in again",
    ChangeKind.TOTP_REMOVE.value: "The second factor is removed: the password alone opens it",
}
FIELDS = (  # what a new account is given, in this order
    ("organisation", "Organisation"),
    ("display_name", "Name"),
    ("work_id", "Work ID"),
)


@dataclass(frozen=True)
class ChangeRow:
    id: int
    kind: str  # as stored
    kind_label: str
    username: str
    what: tuple[str, ...]
    proposed_by: str
    proposed_us: int
    expires_us: int
    own: bool  # the viewer proposed it: someone else confirms it
    about_me: bool  # it changes the viewer's own account: someone else confirms it


def text(value: Any) -> str:
    """A stored value as text, cut to TEXT_MAX characters; "" for nothing."""
    if value is None:
        return ""
    if isinstance(value, str):
        shown = value
    elif isinstance(value, bool | int | float):
        shown = str(value)
    else:
        try:
            shown = json.dumps(value, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError):
            shown = repr(value)
    return shown if len(shown) <= TEXT_MAX else shown[: TEXT_MAX - 1] + "…"


def _role(tr: NullTranslations, value: Any) -> str:
    label = ROLE_LABELS.get(value) if isinstance(value, str) else None
    return tr.gettext(label) if label else text(value)


def _what(tr: NullTranslations, kind: str, details: dict[str, Any], lang: str) -> list[str]:
    def pair(label: str, value: str) -> str:
        return say(PAIR, {"label": label, "value": value}, lang)

    lines: list[str] = []
    if kind == ChangeKind.ROLE.value:
        was, becomes = _role(tr, details.get("from")), _role(tr, details.get("to"))
        lines.append(pair(tr.gettext("Role"), f"{was or '?'} → {becomes or '?'}"))
        return lines
    if kind in CHANGE_KIND_LABELS:
        if kind in WHAT:
            lines.append(tr.gettext(WHAT[kind]))
        role = _role(tr, details.get("role"))
        if role:
            lines.append(pair(tr.gettext("Role"), role))
        if kind == ChangeKind.CREATE.value:
            for key, label in FIELDS:
                value = text(details.get(key))
                if value:
                    lines.append(pair(tr.gettext(label), value))
        return lines
    # a kind no code knows: its details as they are
    for key in sorted(details, key=str)[:20]:
        value = text(details[key])
        if value:
            lines.append(pair(text(key), value))
    return lines


def describe(change: PendingChange, *, viewer: str, lang: str) -> ChangeRow:
    """One pending change as a row of the page, for the viewer (a ledger actor)."""
    tr = i18n.translations(lang)
    kind = text(change.kind)
    label = CHANGE_KIND_LABELS.get(kind)
    details = change.details if isinstance(change.details, dict) else {}
    return ChangeRow(
        id=change.id,
        kind=kind,
        kind_label=tr.gettext(label) if label else say(UNKNOWN_KIND, {"kind": kind}, lang),
        username=text(change.username),
        what=tuple(_what(tr, kind, details, lang)),
        proposed_by=actor(text(change.proposed_by), lang),
        proposed_us=change.proposed_us,
        expires_us=change.expires_us,
        own=change.proposed_by == viewer,
        about_me=kind != ChangeKind.CREATE.value and account_actor(change.username) == viewer,
    )
