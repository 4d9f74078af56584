"""The judgement of an export bundle. Pure: no I/O.

`judge` decides, from the manifest's bytes, the signature, and the digests of the files present
(the caller hashes them), whether the bundle is what it says; each finding names its cause.

Trust (docs/EXPORTS.md): the manifest's signer must also have signed the footage's
checkpoints, or be endorsed (key rotation) by a key that did. That makes a bundle consistent;
it does not say who made it, because a bundle fabricated from scratch with a new key is
consistent too. Only keys the recipient pins (the installation's published keys, obtained out
of band) say who made it: with them, the signer must be, or be endorsed by, a pinned key.
Without them the outcome is SIGNER_UNKNOWN, never VERIFIED — and a fabricated bundle never
fares better than a genuine one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from custodes.domain.chain import GENESIS, Checkpoint, segment_link
from custodes.domain.export_format import (
    MANIFEST_FILE,
    SIGNATURE_FILE,
    CheckpointEntry,
    KeyEntry,
    Manifest,
    ManifestError,
    decode,
    endorsement_message,
    key_id_of,
)
from custodes.domain.export_wording import problem_english, subject_english
from custodes.domain.finding_wording import Part

SignatureCheck = Callable[[str, bytes, str], bool]  # (public hex, message, signature hex)


@dataclass(frozen=True)
class FileFacts:
    bytes: int
    sha256: str


@dataclass(frozen=True)
class BundleFacts:
    """What the caller read from the bundle directory. `files`: every regular file but the
    manifest and its signature, by path relative to the bundle (with '/'); `odd`: entries that
    are not regular files or directories (links, devices …)."""

    manifest: bytes | None
    signature: bytes | None
    files: Mapping[str, FileFacts]
    odd: Sequence[str] = ()


@dataclass(frozen=True)
class Finding:
    """What is wrong and with what. `subject` and `problem` are the English (`--json`) of
    `about` and `parts`, the wording by key (domain/export_wording.py) that a reader's
    language says."""

    subject: str  # "clip.mp4", "segment 1234", "manifest.sig", "checkpoint 1299", "key …"
    problem: str
    failure: bool = True  # False: a warning (reported, the bundle still verifies)
    about: Part = field(default=("file", {"name": ""}), compare=False, hash=False)
    parts: tuple[Part, ...] = field(default=(), compare=False, hash=False)

    def __str__(self) -> str:
        return f"{self.subject}: {self.problem}"


def _finding(about: Part, parts: tuple[Part, ...], *, failure: bool) -> Finding:
    return Finding(
        subject_english(about), problem_english(parts), failure, about=about, parts=parts
    )


def _file(name: str) -> Part:
    return "file", {"name": name}


def _key(key_id: str) -> Part:
    return "key", {"key": key_id}


def _seq(kind: str, seq: int) -> Part:
    return kind, {"seq": str(seq)}


class SignerTrust(StrEnum):
    PINNED = "pinned"  # the signer is a pinned key, or endorsed by one
    UNKNOWN = "unknown"  # no key pinned: nothing in the bundle says who made it
    UNTRUSTED = "untrusted"  # keys pinned, and the signer is none of them (a failure)


class Outcome(StrEnum):
    VERIFIED = "verified"  # nothing failed and the signer is a pinned key
    SIGNER_UNKNOWN = "signer-unknown"  # nothing failed, but no key was pinned
    NOT_VERIFIED = "not-verified"  # a failure (or, strictly, a warning)


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    manifest: Manifest | None = None
    signer_key_id: str | None = None
    checkpoint_key_ids: list[str] = field(default_factory=list)
    pinned: bool = False
    signer_trust: SignerTrust = SignerTrust.UNKNOWN
    signed_through_seq: int | None = None  # the last exported seq a valid checkpoint vouches for
    unsigned_seqs: list[int] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.failure for f in self.findings)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.failure]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.failure]

    def outcome(self, *, strict: bool = False) -> Outcome:
        """NOT_VERIFIED on any failure (and, `strict`, any warning); else SIGNER_UNKNOWN when
        no key was pinned; else VERIFIED."""
        if self.failed or (strict and self.warnings):
            return Outcome.NOT_VERIFIED
        if self.signer_trust is not SignerTrust.PINNED:
            return Outcome.SIGNER_UNKNOWN
        return Outcome.VERIFIED

    def fail(self, about: Part, key: str, /, **params: object) -> None:
        """A failure of `about`, worded by `key` of domain/export_wording.py PROBLEMS."""
        self.findings.append(_finding(about, ((key, _text(params)),), failure=True))

    def warn(self, about: Part, key: str, /, **params: object) -> None:
        self.findings.append(_finding(about, ((key, _text(params)),), failure=False))

    def fail_parts(self, about: Part, parts: tuple[Part, ...]) -> None:
        self.findings.append(_finding(about, parts, failure=True))


def _text(params: Mapping[str, object]) -> dict[str, str]:
    return {name: str(value) for name, value in params.items()}


def judge(
    facts: BundleFacts,
    signature_ok: SignatureCheck,
    *,
    pinned: Collection[str] | None = None,
) -> Verdict:
    """Judge a bundle. `pinned`: public keys (hex) the recipient trusts, e.g. from the
    installation's `custodes keys export`; None: the signer stays unknown (the verdict's
    outcome says so, and the signer's key id must be compared by hand)."""
    v = Verdict(pinned=pinned is not None)
    if facts.manifest is None:
        v.fail(_file(MANIFEST_FILE), "missing")
        return v
    try:
        m = decode(facts.manifest)
    except ManifestError as exc:
        v.fail_parts(_file(MANIFEST_FILE), (("manifest-invalid", {}), *exc.parts))
        return v
    v.manifest = m
    v.signer_key_id = m.signer.key_id
    keys = _check_keys(m, signature_ok, v)
    _check_signature(m, facts, keys, signature_ok, v)
    links = _walk_chain(m, v)
    good = _check_checkpoints(m, keys, links, signature_ok, v)
    _check_coverage(m, links, good, v)
    _check_trust(m, keys, good, pinned, v)
    _check_statements(m, v)
    _check_files(m, facts, v)
    return v


def _check_keys(m: Manifest, signature_ok: SignatureCheck, v: Verdict) -> dict[str, KeyEntry]:
    """The bundle's keys by id; an endorsement that does not verify is reported and dropped
    (the key stays, endorsed by nobody)."""
    keys: dict[str, KeyEntry] = {}
    for k in m.keys:
        if key_id_of(k.public_key) != k.key_id:
            v.fail(_key(k.key_id), "key-id-wrong")
            continue
        keys[k.key_id] = k
    for k in list(keys.values()):
        if k.endorsed_by is None:
            continue
        by = keys.get(k.endorsed_by)
        if by is None or k.endorsement is None:
            v.fail(_key(k.key_id), "endorser-absent", by=k.endorsed_by)
        elif signature_ok(
            by.public_key, endorsement_message(k.key_id, k.public_key), k.endorsement
        ):
            continue
        else:
            v.fail(_key(k.key_id), "endorsement-bad", by=k.endorsed_by)
        keys[k.key_id] = k.model_copy(update={"endorsed_by": None, "endorsement": None})
    return keys


def _check_signature(
    m: Manifest,
    facts: BundleFacts,
    keys: Mapping[str, KeyEntry],
    signature_ok: SignatureCheck,
    v: Verdict,
) -> None:
    signer = m.signer
    if key_id_of(signer.public_key) != signer.key_id:
        v.fail(_file(SIGNATURE_FILE), "signer-id-wrong")
    listed = keys.get(signer.key_id)
    if listed is None or listed.public_key != signer.public_key:
        v.fail(_file(SIGNATURE_FILE), "signer-not-listed", key=signer.key_id)
    sig = facts.signature
    if sig is None:
        v.fail(_file(SIGNATURE_FILE), "signature-missing")
    elif len(sig) != 64:
        v.fail(_file(SIGNATURE_FILE), "signature-length", bytes=len(sig))
    elif not signature_ok(signer.public_key, facts.manifest or b"", sig.hex()):
        v.fail(_file(SIGNATURE_FILE), "signature-invalid", key=signer.key_id)


def _walk_chain(m: Manifest, v: Verdict) -> dict[int, bytes | None]:
    """Recompute the chain over the segments and the rows after them; returns seq -> link
    (None where there is no link to start from)."""
    rows: list[tuple[Part, int, int, int, int, str, str]] = [
        (_seq("segment", s.seq), s.seq, s.start_us, s.end_us, s.bytes, s.sha256, s.link)
        for s in m.segments
    ] + [
        (_seq("chain-row", c.seq), c.seq, c.start_us, c.end_us, c.bytes, c.sha256, c.link)
        for c in m.chain.after
    ]
    anchors = {a.seq: bytes.fromhex(a.link) for a in m.chain.anchors}
    if -1 in anchors and anchors[-1] != GENESIS:
        v.fail(("chain", {}), "genesis-wrong")
    links: dict[int, bytes | None] = {}
    prev_seq: int | None = None
    prev: bytes | None = None
    for subject, seq, start, end, size, sha, stated in rows:
        if prev_seq is not None and seq <= prev_seq:
            v.fail(subject, "row-out-of-order", after=prev_seq)
            continue
        if prev_seq is not None and seq == prev_seq + 1:
            base = prev
        elif seq - 1 in anchors:
            base = anchors[seq - 1]
        else:
            v.fail(subject, "row-unanchored")
            base = None
        link = None
        if base is not None:
            link = segment_link(base, m.camera.id, seq, start, end, size, sha)
            if link.hex() != stated:
                v.fail(subject, "row-link-wrong")
        links[seq] = link
        prev_seq, prev = seq, link
    return links


def _check_checkpoints(
    m: Manifest,
    keys: Mapping[str, KeyEntry],
    links: Mapping[int, bytes | None],
    signature_ok: SignatureCheck,
    v: Verdict,
) -> list[CheckpointEntry]:
    """The checkpoints whose signatures verify and whose link the recomputed chain reaches."""
    good: list[CheckpointEntry] = []
    anchors = {a.seq: a.link for a in m.chain.anchors}
    for cp in m.chain.checkpoints:
        subject = _seq("checkpoint", cp.seq)
        key = keys.get(cp.key_id)
        message = Checkpoint(m.camera.id, cp.seq, cp.link, cp.time_us, cp.key_id).message()
        if key is None:
            v.fail(subject, "checkpoint-key-absent", key=cp.key_id)
            continue
        if not signature_ok(key.public_key, message, cp.signature):
            v.fail(subject, "checkpoint-signature-bad", key=cp.key_id)
            continue
        if cp.key_id not in v.checkpoint_key_ids:
            v.checkpoint_key_ids.append(cp.key_id)
        if cp.seq in links:
            link = links[cp.seq]
            if link is not None and link.hex() != cp.link:
                v.fail(subject, "checkpoint-unreached")
            elif link is not None:
                good.append(cp)
        elif cp.seq in anchors and anchors[cp.seq] != cp.link:
            v.fail(subject, "checkpoint-anchor-differs", seq=cp.seq)
    return good


def _check_coverage(
    m: Manifest, links: Mapping[int, bytes | None], good: Sequence[CheckpointEntry], v: Verdict
) -> None:
    """Every exported segment must be followed, without a break in the chain, by a checkpoint
    whose link the chain reaches; the rest is an unsigned tail (declared: a warning)."""
    signed_at = {cp.seq for cp in good}
    seqs = sorted(links)
    vouched: set[int] = set()
    covered = False
    for i in range(len(seqs) - 1, -1, -1):
        seq = seqs[i]
        if i + 1 < len(seqs) and seqs[i + 1] != seq + 1:
            covered = False
        if links[seq] is None:
            covered = False
        elif seq in signed_at:
            covered = True
        if covered:
            vouched.add(seq)
    exported = [s.seq for s in m.segments]
    v.unsigned_seqs = [s for s in exported if s not in vouched]
    signed = [s for s in exported if s in vouched]
    v.signed_through_seq = max(signed) if signed else None
    if not v.unsigned_seqs:
        return
    first, last = v.unsigned_seqs[0], v.unsigned_seqs[-1]
    tail = m.chain.unsigned_tail
    trailing = v.unsigned_seqs == exported[len(exported) - len(v.unsigned_seqs) :]
    if tail is not None and trailing and tail.first_seq <= first and tail.last_seq >= last:
        v.warn(_seqs(first, last), "unsigned-tail", reason=tail.reason)
    else:
        v.fail(_seqs(first, last), "unvouched")


def _seqs(first: int, last: int) -> Part:
    if first == last:
        return _seq("segment", first)
    return "segments", {"first": str(first), "last": str(last)}


def _closure(start: Iterable[str], keys: Mapping[str, KeyEntry]) -> set[str]:
    """The keys in `start` and every key endorsed, directly or in a chain, by one of them
    (endorsements already checked). Linear in the keys, however they are ordered."""
    endorsed: dict[str, list[str]] = {}
    for k in keys.values():
        if k.endorsed_by is not None:
            endorsed.setdefault(k.endorsed_by, []).append(k.key_id)
    trusted = set(start)
    todo = list(trusted)
    while todo:
        for key_id in endorsed.get(todo.pop(), ()):
            if key_id not in trusted:
                trusted.add(key_id)
                todo.append(key_id)
    return trusted


def _check_trust(
    m: Manifest,
    keys: Mapping[str, KeyEntry],
    good: Sequence[CheckpointEntry],
    pinned: Collection[str] | None,
    v: Verdict,
) -> None:
    signer = m.signer.key_id
    cp_keys = {cp.key_id for cp in good} or set(v.checkpoint_key_ids)
    if signer not in _closure(cp_keys, keys):
        if cp_keys:
            held = ", ".join(sorted(cp_keys))
            v.fail(_file(SIGNATURE_FILE), "signer-signed-no-checkpoint", key=signer, held=held)
        else:
            v.fail(_file(SIGNATURE_FILE), "signer-signed-no-checkpoint-none", key=signer)
    if pinned is None:
        v.signer_trust = SignerTrust.UNKNOWN
        return
    pinned_ids = {key_id_of(p) for p in pinned}
    # a key is pinned by its whole public key, not by its 64-bit id: a bundle key that only
    # shares a pinned id is not the pinned key
    wanted = {p.lower() for p in pinned}
    matching = {k.key_id for k in keys.values() if k.public_key.lower() in wanted}
    trusted = _closure(matching, keys)
    names = ", ".join(sorted(pinned_ids)) or "-"  # a key file names at least one key
    if signer in trusted:
        v.signer_trust = SignerTrust.PINNED
    else:
        v.signer_trust = SignerTrust.UNTRUSTED
        v.fail(_file(SIGNATURE_FILE), "signer-not-pinned", key=signer, pinned=names)
    for key_id in sorted(set(v.checkpoint_key_ids) - trusted):
        v.fail(_key(key_id), "checkpoint-signer-not-pinned", pinned=names)


def _check_statements(m: Manifest, v: Verdict) -> None:
    """What the manifest says must agree with itself."""
    if not m.segments:
        v.fail(_file(MANIFEST_FILE), "no-segments")
        return
    first, last = m.segments[0], m.segments[-1]
    grant, requested, covered = m.grant, m.requested, m.covered
    if (covered.start_us, covered.end_us) != (first.start_us, last.end_us):
        v.fail(_file(MANIFEST_FILE), "covered-not-segments")
    if requested.start_us < grant.start_us or requested.end_us > grant.end_us:
        v.fail(_file(MANIFEST_FILE), "requested-beyond-grant", grant=grant.id)
    if covered.start_us < grant.start_us or covered.end_us > grant.end_us:
        v.fail(_file(MANIFEST_FILE), "covered-beyond-grant", grant=grant.id)
    if grant.action not in ("copy", "retrieve-original"):
        v.fail(_file(MANIFEST_FILE), "grant-not-copy", grant=grant.id, action=repr(grant.action))
    if m.originals_included and grant.action != "retrieve-original":
        v.warn(  # bundles made before copy grants stopped yielding the originals
            _file(MANIFEST_FILE), "originals-under-copy", grant=grant.id, action=repr(grant.action)
        )
    for s in m.segments:
        if s.end_us <= requested.start_us or s.start_us >= requested.end_us:
            v.fail(_seq("segment", s.seq), "segment-outside-request")


def _check_files(m: Manifest, facts: BundleFacts, v: Verdict) -> None:
    expected: dict[str, tuple[Part, int, str]] = {}
    expected[m.clip.file] = (_file(m.clip.file), m.clip.bytes, m.clip.sha256)
    if m.watermarked is not None:
        w = m.watermarked
        expected[w.file] = (("viewing-copy", {"name": w.file}), w.bytes, w.sha256)
    for s in m.segments:
        if s.file is not None:  # absent under a copy grant: the chain vouches for the digests
            expected[s.file] = (_seq("segment", s.seq), s.bytes, s.sha256)
    for name, (subject, size, sha) in expected.items():
        got = facts.files.get(name)
        if got is None:
            if subject == _file(name):
                v.fail(subject, "missing")
            else:
                v.fail(subject, "missing-named", name=name)
        elif got.sha256 != sha:
            v.fail(subject, "digest-differs", name=name, bytes=got.bytes, size=size)
        elif got.bytes != size:
            v.fail(subject, "size-differs", bytes=got.bytes, size=size)
    for name in sorted(set(facts.files) - set(expected)):
        v.warn(_file(name), "file-stray")
    for name in facts.odd:
        v.fail(_file(name), "file-odd")
