"""What an alarm says, as data (issue 12, "One language at a time"). Pure.

An alarm is raised with a key of `MESSAGES` and its parameters; the English `message` stored
beside them (for the rows raised before keys, the logs and the ledger) is rendered from the
same catalogue at raise time. Where an alarm is shown, its key's msgid is translated
(entrypoints/web/locale/*.po) and filled in with the same parameters.

Parameters are data and pass through as they are: a camera's name, a path, a sequence
number, an exception's text, a number already formatted. Rendering is total: a template and
parameters that do not fit exactly (a placeholder without its value, a value without its
placeholder, a template gone wrong in a catalogue) give None, and the caller shows the
stored English instead — never an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

# The keys, each with its English msgid: `%(name)s` for a parameter (locale/*.po translate
# them). A key is stored in alarms.message_key: never rename or reuse one.
MESSAGES: dict[str, str] = {
    # integrity
    "verify-found": (
        "verification found %(count)s problem(s); first: camera %(camera)s: %(kind)s: %(detail)s"
    ),
    "index-rows-gone": (
        "camera %(camera)s: index rows %(first)s–%(last)s, which signed checkpoint "
        "%(checkpoint)s vouches for, are gone; new footage goes on at seq %(next)s"
    ),
    "deletion-unrecorded": (
        "camera %(camera)s: a deletion of seq %(first)s–%(last)s is pending that no "
        "sweep-batch entry of the ledger records; nothing was deleted (run `custodes verify`)"
    ),
    # disk low (services/capacity.py)
    "volume-short": (
        "the volume cannot hold the retention floors: %(short_gb)s GB short; recording "
        "stops in about %(days)s days"
    ),
    "headroom-low": "only %(days)s days of headroom beyond the retention floors",
    "volume-holds": "the volume holds every camera's retention",
    # disk full
    "disk-full": "disk full",
    "disk-full-camera": (
        "disk full: %(free_mb)s MB free on %(path)s (reserve %(reserve_mb)s MB); recording "
        "resumes above %(resume_mb)s MB"
    ),
    "disk-full-volume": (
        "the archive volume has %(free_mb)s MB free, below the reserve of %(reserve_mb)s MB: "
        "recording cannot go on"
    ),
    # camera offline (services/camera_health.py)
    "camera-silent": (
        "camera '%(camera)s' has recorded nothing for %(seconds)s s (since %(since)s): %(reason)s"
    ),
    "camera-silent-unexplained": (
        "camera '%(camera)s' has recorded nothing for %(seconds)s s (since %(since)s): no "
        "segment arrived and the recorder gave no reason"
    ),
    # footage cut short (services/sealing.py): the counts, then the latest event
    "footage-cut-salvaged": (
        "%(salvaged)s segment(s) sealed short and %(quarantined)s file(s) quarantined since "
        "the alarm was raised; latest: seq %(seq)s %(note)s"
    ),
    "footage-cut-quarantined": (
        "%(salvaged)s segment(s) sealed short and %(quarantined)s file(s) quarantined since "
        "the alarm was raised; latest: quarantined: %(reason)s"
    ),
    "footage-cut": (
        "%(salvaged)s segment(s) sealed short and %(quarantined)s file(s) quarantined since "
        "the alarm was raised; latest: %(latest)s"
    ),
}

# Parameters kept beside a message's own, for a reader's language, by the message's key: the
# first finding's parts (domain/finding_wording.py), which word its `detail` and `kind`.
EXTRA_PARAMS: dict[str, frozenset[str]] = {"verify-found": frozenset({"detail_parts"})}

# Parameters that are instants, stored as UTC ISO 8601 ("2026-12-02T06:00:00.000Z"): shown in
# the site's time zone where a person reads them (UTC appears nowhere a person reads it).
INSTANT_PARAMS = frozenset({"since"})

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def placeholders(template: str) -> frozenset[str]:
    return frozenset(_PLACEHOLDER.findall(template))


def render(template: str, params: Mapping[str, str]) -> str | None:
    """`template` filled in with `params`, or None when they do not fit exactly: each
    placeholder has its value and each value its placeholder, and nothing else in the
    template is a `%` directive. A value is never read as a template ("%", braces)."""
    if placeholders(template) != set(params):
        return None
    if not params:
        return template if "%" not in template.replace("%%", "") else None
    try:
        return template % dict(params)
    except (KeyError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class Wording:
    """An alarm's message as data: a key of MESSAGES and its parameters."""

    key: str
    params: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.key not in MESSAGES:
            raise ValueError(f"no alarm message {self.key!r}")
        # what is stored must render: checked where it is made, not when it is shown
        if render(MESSAGES[self.key], own(self.key, self.params)) is None:
            raise ValueError(
                f"alarm message {self.key!r} takes {sorted(placeholders(MESSAGES[self.key]))}, "
                f"given {sorted(self.params)}"
            )

    @property
    def english(self) -> str:
        return render(MESSAGES[self.key], own(self.key, self.params)) or MESSAGES[self.key]

    def params_json(self) -> str:
        return json.dumps(dict(self.params), ensure_ascii=False, sort_keys=True)


def own(key: str, params: Mapping[str, str]) -> dict[str, str]:
    """The parameters the message of `key` fills in: those of EXTRA_PARAMS left out."""
    extra = EXTRA_PARAMS.get(key, frozenset())
    return {k: v for k, v in params.items() if k not in extra}


def stored_params(text: str | None) -> dict[str, str] | None:
    """Parameters as stored (a JSON object of strings), or None when they are not that."""
    value = stored_json(text)
    return value if is_params(value) else None


def stored_json(text: str | None) -> object:
    """What `text` holds as JSON; None for no text or text that is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # "[[[[…" nested past the parser's depth
        return None


def is_params(value: object) -> TypeGuard[dict[str, str]]:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )
