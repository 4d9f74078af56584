"""What the judgement of an export bundle says, as data (issue 12, "One language at a time").
Pure.

A finding of `domain/export_judgement.py` names what it is about (its subject) and what is
wrong with it (its problem), each worded by parts as a verification finding is
(domain/finding_wording.py): a key of SUBJECTS or PROBLEMS and its parameters. The English the
verdict keeps (`verify-export --json`, the logs) is rendered from the same tables; the command
line says each msgid in the reader's language (entrypoints/web/locale/*.po). A bundle's
recipient — a police or judicial officer — reads the verdict, often in Chinese only.

Parameters are data and pass through as they are: a seq, a key id, a file name, a grant's
action, a field's path in the manifest, what a JSON parser said of a broken manifest.
"""

from __future__ import annotations

from collections.abc import Sequence

from custodes.domain.finding_wording import Part, english

# What a finding is about. Stored nowhere but in a verdict: a key may be renamed with its uses.
SUBJECTS: dict[str, str] = {
    "file": "%(name)s",  # manifest.json, manifest.sig, clip.mp4, a stray file
    "viewing-copy": "%(name)s (re-encoded viewing copy)",
    "chain": "chain",
    "key": "key %(key)s",
    "segment": "segment %(seq)s",
    "segments": "segments %(first)s–%(last)s",
    "chain-row": "chain row %(seq)s",
    "checkpoint": "checkpoint %(seq)s",
}

PROBLEMS: dict[str, str] = {
    # the manifest and its signature
    "missing": "missing",
    "missing-named": "missing (%(name)s)",
    "manifest-invalid": "not a valid manifest: ",  # followed by MANIFEST_PROBLEMS' parts
    "key-id-wrong": "its id is not the SHA-256 prefix of its public key",
    "endorser-absent": "endorsed by key %(by)s, not in the bundle",
    "endorsement-bad": "the endorsement by key %(by)s does not verify",
    "signer-id-wrong": "the signer's key id is not the SHA-256 prefix of its public key",
    "signer-not-listed": (
        "the manifest is signed by key %(key)s, which is not in the bundle's key list"
    ),
    "signature-missing": "missing: the manifest is not signed",
    "signature-length": "not an Ed25519 signature (%(bytes)s bytes, not 64)",
    "signature-invalid": (
        "manifest signature invalid under key %(key)s: manifest.json was changed or signed by "
        "another key"
    ),
    # the chain and its checkpoints
    "genesis-wrong": "the anchor before seq 0 is not the genesis (32 zero bytes)",
    "row-out-of-order": "out of order in the manifest (after seq %(after)s)",
    "row-unanchored": (
        "no chain link before it in the manifest: the chain cannot be recomputed from here"
    ),
    "row-link-wrong": (
        "its digest, times or size in the manifest do not give its chain link (the entry was "
        "edited)"
    ),
    "checkpoint-key-absent": "signed by key %(key)s, which is not in the bundle",
    "checkpoint-signature-bad": "its signature does not verify under key %(key)s",
    "checkpoint-unreached": (
        "the chain recomputed from the manifest does not reach its signed link (segment "
        "entries were altered)"
    ),
    "checkpoint-anchor-differs": (
        "its signed link differs from the manifest's anchor at seq %(seq)s"
    ),
    "unsigned-tail": (
        "unsigned tail: no checkpoint had been signed after them when they were exported "
        "(%(reason)s); they rest on the manifest's signature alone"
    ),
    "unvouched": "no signed checkpoint vouches for them",
    # who signed
    "signer-signed-no-checkpoint": (
        "the manifest is signed by key %(key)s, which signed none of the footage's "
        "checkpoints (signed by: %(held)s) and is not endorsed by a key that did"
    ),
    "signer-signed-no-checkpoint-none": (
        "the manifest is signed by key %(key)s, which signed none of the footage's "
        "checkpoints (signed by: none) and is not endorsed by a key that did"
    ),
    "signer-not-pinned": (
        "signed by key %(key)s, which is neither a pinned key (%(pinned)s) nor endorsed by "
        "one: this bundle was not signed by the installation you trust"
    ),
    "checkpoint-signer-not-pinned": (
        "signed checkpoints but is neither a pinned key (%(pinned)s) nor endorsed by one"
    ),
    # what the manifest says of itself
    "no-segments": "lists no segments",
    "covered-not-segments": (
        "the covered range is not the first segment's start to the last segment's end"
    ),
    "requested-beyond-grant": "the requested range exceeds grant %(grant)s's range",
    "covered-beyond-grant": (
        "the covered range exceeds grant %(grant)s's range: footage outside the grant"
    ),
    "grant-not-copy": "grant %(grant)s is a %(action)s grant, not a copy grant",
    "originals-under-copy": (
        "the original segment files are included, but grant %(grant)s is a %(action)s grant, "
        "not a retrieve-original grant"
    ),
    "segment-outside-request": "lies outside the requested range",
    # the files
    "digest-differs": (
        "sha256 differs from the manifest (%(name)s: %(bytes)s bytes, manifest %(size)s)"
    ),
    "size-differs": "size differs from the manifest (%(bytes)s, manifest %(size)s)",
    "file-stray": "in the bundle but not named by the manifest: not verified, not evidence",
    "file-odd": "not a regular file (a link or a device): not verified",
}

# Why a manifest is not one (domain/export_format.py `describe_parts`): `path` is a field's
# place in the manifest ("segments[3].sha256"), said as it is.
MANIFEST_PROBLEMS: dict[str, str] = {
    "not-json": "not JSON (%(error)s)",
    "must-be": "%(path)s must be %(value)s",
    "must-be-null": "%(path)s must be null: the originals are not included",
    "twin-differs": "%(path)s is not %(expected)s, the ISO 8601 form of %(us)s",
    "not-hex": "%(path)s is not lower-case hex of %(digits)s digits",
    "not-hex-any": "%(path)s is not lower-case hex of the right digits",
    "not-a-time": "%(path)s is not a time between 1970 and 2200 (µs since the epoch)",
    "below": "%(path)s is out of range (input should be greater than or equal to %(limit)s)",
    "above": "%(path)s is out of range (input should be less than or equal to %(limit)s)",
    "not-format": "%(path)s %(value)s is not %(format)s",
    "field-missing": "%(path)s is missing",
    "not-a-field": "%(path)s is not a field of %(format)s",
    "not-int": "%(path)s is not an integer",
    "not-string": "%(path)s is not a string",
    "not-bool": "%(path)s is not true or false",
    "not-list": "%(path)s is not a list",
    "not-object": "%(path)s is not an object",
    "other": "%(path)s: %(message)s",  # pydantic's own words, for a kind not foreseen
    "more-problem": " (and 1 more problem)",
    "more-problems": " (and %(n)s more problems)",
}

# every key a problem's parts may name
PROBLEM_PARTS: dict[str, str] = {**PROBLEMS, **MANIFEST_PROBLEMS}


def subject_english(part: Part) -> str:
    """The subject in English; its key and parameters are the judgement's own, so they fit
    (tests/test_export_wording.py walks every one)."""
    return english([part], SUBJECTS) or part[0]


def problem_english(parts: Sequence[Part]) -> str:
    return english(parts, PROBLEM_PARTS) or " ".join(key for key, _ in parts)
