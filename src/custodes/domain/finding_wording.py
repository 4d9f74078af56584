"""What a verification finding says, as data (issue 12, "One language at a time"). Pure.

A finding of `domain/verification.py` (the archive) or `domain/ledger.py` (the ledger) is
worded by parts, each a key of `DETAILS` and its parameters, said one after the other (a
part after the first carries its own punctuation: a clause that applies, "; rows 5–7 cannot
be checked against it"). The English `detail` kept on the finding (the logs, the ledger,
`--json`) is rendered from the same catalogue; where a person reads a finding, each part's
msgid is translated (entrypoints/web/locale/*.po) and filled in with the same parameters.

Parameters are data and pass through as they are (a seq, a path, a key id, a number already
formatted) — but for those of `WORDS`, whose value is one of a few words that are themselves
said: which checkpoint store holds a checkpoint. Rendering is total: a part no catalogue knows,
or parameters that do not fit, make the whole finding read as its stored English.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

from custodes.domain.alarm_wording import is_params, render, stored_json

# One part of a finding's wording: a key of DETAILS and its parameters.
Part = tuple[str, Mapping[str, str]]

# The keys, each with its English msgid. A key is stored (an alarm's parameters, the verify
# report's JSON): never rename or reuse one.
DETAILS: dict[str, str] = {
    # checkpoints (`where` is a word of WORDS)
    "checkpoint-unknown-key": "checkpoint %(seq)s%(where)s: unknown key %(key)s",
    "checkpoint-bad-signature": "checkpoint %(seq)s%(where)s: signature does not verify",
    "checkpoints-disagree": (
        "two signed checkpoints at seq %(seq)s name different links: the database and the "
        "checkpoint file tell two histories"
    ),
    "checkpoints-db-only": (
        "%(count)s checkpoint(s) of the database are not in the checkpoint file (truncated "
        "or edited)"
    ),
    "checkpoints-file-only": (
        "%(count)s checkpoint(s) of the checkpoint file are not in the database"
    ),
    "checkpoint-line-bad": "%(file)s line %(line)s is not a checkpoint (cut or edited)",
    # the chain
    "rows-gone": "index rows %(first)s–%(last)s are gone",
    "rows-gone-vouched": (
        "index rows %(first)s–%(last)s are gone (signed checkpoint %(checkpoint)s vouches for them)"
    ),
    "pruned-unanchored": "pruned range ends at %(last)s without a signed checkpoint there",
    "row-link-wrong": "seq %(seq)s: its fields and the previous link do not give its link",
    "row-inserted": (
        "seq %(seq)s was inserted: without it the chain reaches signed checkpoint %(checkpoint)s"
    ),
    "rows-removed": (
        "%(count)s row(s) removed before checkpoint %(checkpoint)s (its segment is now seq "
        "%(moved)s)"
    ),
    "rows-rewritten": (
        "rows %(first)s–%(last)s were rewritten, removed or reordered: the chain does not "
        "reach signed checkpoint %(checkpoint)s"
    ),
    "segments-gone": (
        "segments %(first)s–%(last)s are gone: signed checkpoint %(checkpoint)s vouches for "
        "them, and the index ends at %(newest)s"
    ),
    "rows-unchecked": "; rows %(first)s–%(last)s cannot be checked against it",
    "sweep-unrecorded": (
        "; a pruned-range row claims seq %(first)s–%(last)s was swept, but no sweep-batch "
        "entry of the ledger records that deletion"
    ),
    # the files
    "file-gone": "seq %(seq)s: file %(path)s is gone",
    "file-changed": "seq %(seq)s: %(path)s was changed",
    "file-of-another": "seq %(seq)s: %(path)s holds the bytes of seq %(other)s",
    "file-unindexed": "%(path)s: a file in the archive that no index row names",
    # notes, not failures
    "timing-overlap": (
        "%(count)s segment(s) start before their predecessor ends, by up to %(seconds)s s "
        "(seq %(seq)s): receipt-time jitter (a loaded machine reads ffmpeg late), not a change "
        "to the footage"
    ),
    "timing-backwards": (
        "%(count)s segment(s) start before their predecessor starts, by up to %(seconds)s s "
        "(seq %(seq)s): the wall clock stepped back while recording"
    ),
    "tail-within": (
        "%(count)s segment(s) after the newest checkpoint (within one checkpoint interval)"
    ),
    "tail-beyond": "%(count)s segment(s) after the newest checkpoint, more than one interval",
    # the ledger (domain/ledger.py `walk`, services/ledger.py)
    "entries-missing": "entries %(span)s are missing",
    "entry-out-of-order": "entry %(seq)s is out of order after %(after)s",
    "entry-unlinked": "entry %(seq)s does not link to entry %(prev)s",
    "entry-altered": "entry %(seq)s does not match its hash (changed after writing)",
    "entry-hash-disputed": (
        "a signed checkpoint says entry %(seq)s has hash %(claimed)s…, the ledger has %(stored)s…"
    ),
    "entry-not-found": "a signed checkpoint names entry %(seq)s: not found",
    "head-missing": "the ledger has entries but no head row",
    "head-wrong": (
        "the head names entry %(seq)s (%(hash)s…), the last entry is %(last)s (%(last_hash)s…)"
    ),
    "entries-unsigned": "entries %(first)s–%(last)s are not covered by a signed checkpoint yet",
    "ledger-checkpoint-db-only": "checkpoint %(seq)s is in the database, not the file",
    "ledger-checkpoint-file-only": "checkpoint %(seq)s is in the file, not the database",
    "ledger-line-damaged": "%(file)s line %(line)s is damaged",
    "ledger-bad-signature": "checkpoint %(seq)s: the signature does not verify with key %(key)s",
    "key-id-wrong": "%(store)s: key %(key)s is not that key's id",
}

# Parameters whose value is a word that is itself said: value → English msgid.
WORDS: dict[str, dict[str, str]] = {
    "where": {"both": "", "database": " (database)", "file": " (checkpoint file)"},
}


def english(parts: Sequence[Part], details: Mapping[str, str] = DETAILS) -> str | None:
    """The finding in English, or None when a part does not fit (checked where it is made)."""
    return said(parts, lambda msgid: msgid, details)


def said(
    parts: Sequence[Part],
    translate: Callable[[str], str],
    details: Mapping[str, str] = DETAILS,
    words: Mapping[str, Mapping[str, str]] = WORDS,
) -> str | None:
    """The finding with each msgid (parts and words) passed through `translate`; None when
    a part has no key in `details` (DETAILS; an export verdict's are domain/export_wording.py),
    its parameters do not fit, or a word is not one of `words`."""
    if not parts:
        return None
    out = []
    for key, params in parts:
        template = details.get(key)
        if template is None:
            return None
        shown, plain = dict(params), dict(params)
        for name, choices in words.items():
            if name in shown:
                word = choices.get(shown[name])
                if word is None:
                    return None
                shown[name], plain[name] = (translate(word) if word else ""), word
        text = render(translate(template), shown)
        if text is None:
            text = render(template, plain)  # a translation gone wrong: its English, whole
        if text is None:
            return None
        out.append(text)
    return "".join(out)


def parts_json(parts: Sequence[Part]) -> str:
    return json.dumps([[k, dict(p)] for k, p in parts], ensure_ascii=False, sort_keys=True)


def stored_parts(text: str | None) -> tuple[Part, ...] | None:
    """Parts as stored (a JSON list of [key, {name: value}]), or None when they are not."""
    value = stored_json(text)
    if not isinstance(value, list):
        return None
    parts: list[Part] = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            return None
        key, params = item
        if not is_params(params):
            return None
        parts.append((key, params))
    return tuple(parts)
