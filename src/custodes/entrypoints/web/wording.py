"""What the rules and the services say, in the request's language.

They say it as an English msgid and its parameters — domain/access_rules.py `Refusal`,
domain/duties.py `Why`, the account services' errors (services/accounts/base.py
`AccountError`) — and never translate: the command line, the ledger and the logs keep the
English. Here the msgid is translated (locale/*.po) and filled in; a parameter that names a
value of the rules (an organisation's kind, a basis, a role) is shown by its label. Total:
whatever a catalogue or a parameter holds, a text comes out (the translation, else the
English, else the msgid as it is).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custodes.clock import iso
from custodes.domain.access_rules import Refusal
from custodes.entrypoints.web import i18n
from custodes.entrypoints.web.labels import BASIS_LABELS, ORG_KIND_LABELS, ROLE_LABELS
from custodes.rules import jurisdictions
from custodes.services.exports.errors import NothingRecorded
from custodes.services.grants import NoGrant

# Parameters whose value is a code of the rules, shown by its label.
PARAM_LABELS: dict[str, Mapping[str, str]] = {
    "kind": ORG_KIND_LABELS,
    "basis": BASIS_LABELS,
    "role_now": ROLE_LABELS,
    "role_proposed": ROLE_LABELS,
}


def say(msgid: str, params: Mapping[str, object], lang: str) -> str:
    """`msgid` in `lang`, its parameters filled in."""
    tr = i18n.translations(lang)
    shown: dict[str, str] = {}
    for key, value in params.items():
        label = PARAM_LABELS.get(key, {}).get(str(value))
        shown[key] = tr.gettext(label) if label is not None else str(value)
    if not shown:
        return tr.gettext(msgid)  # nothing to fill in: a "%" in it is no placeholder
    for template in (tr.gettext(msgid), msgid):
        try:
            return template % shown
        except (KeyError, ValueError, TypeError):
            continue
    return msgid


def refusal(r: Refusal, lang: str) -> str:
    """A refusal's reason in `lang` (its article is a citation: shown as it is)."""
    return say(r.msgid, r.params, lang)


# An article as the rules cite it ("Jilin Art. 28", "Shenzhen Art. 30(4)", "Jilin Art. 24–27",
# "… (draft regulations)"): the place is a jurisdiction's id, capitalised.
_CITATION = re.compile(
    r"(?P<place>[A-Z][a-z]+) Art\. (?P<number>\d+(?:–\d+)?)(?P<item>\(\d+\))?"
    r"(?P<draft> \(draft regulations\))?"
)
DRAFT = "(draft regulations)"  # msgid (locale/*.po)
DRAFT_ZH = "草案"  # a draft's Chinese name says so itself: "…条例（草案）"


def article(citation: str, lang: str) -> str:
    """An article cited by the rules, as a page in `lang` cites it. Chinese: the regulation by
    its name, the article and item numbered the Chinese way ("《…办法》第28条第(2)项"). Either
    language says that a draft's article is a draft, whether or not the rules that cite it say
    so (the access rules cite "Shenzhen Art. 34", retention "Shenzhen Art. 32 (draft
    regulations)"): English "… (draft regulations)", Chinese by the draft's own name
    ("…条例（草案）"). A citation of a form not known here (or of a place without rules) as
    it is."""
    m = _CITATION.fullmatch(citation)
    if m is None or m["place"].lower() not in jurisdictions.known():
        return citation
    try:
        rules = jurisdictions.load(m["place"].lower())
    except (ValueError, KeyError, OSError):
        return citation
    draft = bool(m["draft"]) or rules.draft
    if lang != "zh":
        return citation if m["draft"] or not draft else f"{citation} {DRAFT}"
    shown = f"《{rules.source}》第{m['number']}条"
    if m["item"]:
        shown += f"第{m['item']}项"
    if draft and DRAFT_ZH not in rules.source:
        shown += i18n.translations(lang).gettext(DRAFT)
    return shown


# What a grant allows, in a sentence's words ("no live grant of yours allows playback …").
NEED_WORDS = {"view": "playback", "copy": "a copy", "retrieve-original": "the originals"}


def site_time(us: int, zone: str) -> str:
    """A stored time as a person reads it: the site's time zone, to the second
    ("2026-11-29 08:00:00"); total (a zone or time no calendar holds: UTC ISO, clock.iso)."""
    try:
        moment = datetime.fromtimestamp(us / 1_000_000, ZoneInfo(zone))
    except (ValueError, OverflowError, OSError, ZoneInfoNotFoundError):
        return iso(us)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def no_grant(exc: NoGrant | NothingRecorded, lang: str, zone: str) -> str:
    """Why no grant allows an access (or nothing recorded can be exported), in `lang`, its
    times (`start_us`, `end_us`) in the site's zone `zone`; without a msgid, as it is."""
    if not exc.msgid:
        return str(exc)
    return stated(exc.msgid, exc.params, lang, zone)


def stated(msgid: str, params: Mapping[str, str], lang: str, zone: str) -> str:
    """A msgid and its parameters as no_grant says them: its times (`start_us`, `end_us`) in
    the site's zone, what a grant allows (`need`) in words."""
    shown: dict[str, object] = dict(params)
    tr = i18n.translations(lang)
    for key in ("start", "end"):
        if f"{key}_us" in shown:
            shown[key] = site_time(int(str(shown.pop(f"{key}_us"))), zone)
    if "need" in shown:
        shown["need"] = tr.gettext(NEED_WORDS.get(str(shown["need"]), str(shown["need"])))
    return say(msgid, shown, lang)


ACCOUNT_PREFIX, CLI_PREFIX, SYSTEM = "account:", "cli:", "system"  # services/ledger.py actors
CLI_ACTOR = "%(name)s (command line)"  # msgids (locale/*.po)
SYSTEM_ACTOR = "The system"


def actor(value: str, lang: str) -> str:
    """Who did something, as the ledger names them ("account:<username>", "cli:<user>",
    "system"), in words: an account by its username. Any other value as it is."""
    tr = i18n.translations(lang)
    if value.startswith(ACCOUNT_PREFIX) and len(value) > len(ACCOUNT_PREFIX):
        return value[len(ACCOUNT_PREFIX) :]
    if value.startswith(CLI_PREFIX) and len(value) > len(CLI_PREFIX):
        return say(CLI_ACTOR, {"name": value[len(CLI_PREFIX) :]}, lang)
    if value == SYSTEM:
        return tr.gettext(SYSTEM_ACTOR)
    return value
