"""The manifest of an export bundle, its encoding, and the judgement of a bundle. Pure: no I/O.

A bundle (docs/EXPORTS.md) is a directory: `clip.mp4` (stream copy of the sealed segments),
under a retrieve-original grant only `segments/` (the sealed segment files themselves; a copy
grant yields the clip, not the originals: `originals_included`), optionally
`clip-watermarked.mp4` (a re-encoded viewing copy, not evidence), `manifest.json` and
`manifest.sig` (a detached Ed25519 signature over the manifest's exact bytes by the
installation's signing key).

The manifest states every segment's seq, times, size, SHA-256 and chain link, the link before
the first one (`anchors`), the index rows after the last one up to the signed checkpoint that
closes the chain (`chain_after`: metadata only, no footage), the signed checkpoints, every
public key of the installation with its endorsements, the grant and request it was made
under, and the clip's own SHA-256.

`judge` decides, from the manifest bytes, the signature, and the digests of the files present
(the caller hashes them), whether the bundle is what it says; each finding names its cause.
Trust (docs/EXPORTS.md): the manifest's signer must also have signed the footage's
checkpoints, or be endorsed (key rotation) by a key that did; with pinned keys it must be, or
be endorsed by, a pinned key. Without pinning, a bundle fabricated from scratch with a new key
is consistent: the key id must then be compared with the installation's published keys.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from custodes.domain.chain import GENESIS, Checkpoint, segment_link

FORMAT = "custodes-export-v1"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
CLIP_FILE = "clip.mp4"
WATERMARKED_FILE = "clip-watermarked.mp4"
SEGMENTS_DIR = "segments"
# The same message services/keys.py has the retiring key sign over its successor.
ENDORSEMENT_DOMAIN = b"custodes-key-endorsement-v1\x00"

SignatureCheck = Callable[[str, bytes, str], bool]  # (public hex, message, signature hex)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")


def segment_file(seq: int) -> str:
    """A segment's path inside the bundle."""
    return f"{SEGMENTS_DIR}/{seq:012d}.mp4"


def key_id_of(public_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


def endorsement_message(new_key_id: str, new_public_hex: str) -> bytes:
    return ENDORSEMENT_DOMAIN + new_key_id.encode("ascii") + bytes.fromhex(new_public_hex)


def iso(us: int) -> str:
    """ISO 8601 UTC with microseconds (the manifest's human-readable times)."""
    return (
        datetime.fromtimestamp(us // 1_000_000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{us % 1_000_000:06d}Z"
    )


# The manifest ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeRange:
    start_us: int
    end_us: int


@dataclass(frozen=True)
class PersonInfo:
    account_id: int
    username: str
    display_name: str | None
    work_id: str | None


@dataclass(frozen=True)
class CameraInfo:
    id: int
    name: str
    place: str
    site: str | None


@dataclass(frozen=True)
class GrantInfo:
    id: int
    action: str
    start_us: int
    end_us: int
    granted_us: int
    granted_by: str
    expires_us: int


@dataclass(frozen=True)
class OrganisationInfo:
    id: int
    name: str
    kind: str


@dataclass(frozen=True)
class RequestInfo:
    id: int
    organisation: OrganisationInfo
    basis: str
    purpose: str
    destination: str
    destination_abroad: bool
    jurisdiction: str
    psb_approval_ref: str | None
    judicial_approval_ref: str | None
    staff: tuple[PersonInfo, ...]


@dataclass(frozen=True)
class FileInfo:
    """A video file of the bundle. `evidence`: the stream copy (True) or a re-encoded viewing
    copy (False)."""

    file: str
    bytes: int
    sha256: str
    evidence: bool
    method: str


@dataclass(frozen=True)
class SegmentEntry:
    seq: int
    start_us: int
    end_us: int
    duration_us: int
    bytes: int
    sha256: str
    link: str
    file: str | None  # None: the original is not in the bundle (a copy grant)
    archive_path: str


@dataclass(frozen=True)
class ChainRow:
    """An index row after the last exported segment, up to the closing checkpoint: what the
    chain needs to reach a signature, without the footage."""

    seq: int
    start_us: int
    end_us: int
    bytes: int
    sha256: str
    link: str


@dataclass(frozen=True)
class Anchor:
    """The chain's link at `seq` (the row before a run of exported segments); seq -1 is the
    genesis (32 zero bytes)."""

    seq: int
    link: str


@dataclass(frozen=True)
class CheckpointEntry:
    seq: int
    link: str
    time_us: int
    key_id: str
    signature: str


@dataclass(frozen=True)
class UnsignedTail:
    first_seq: int
    last_seq: int
    reason: str


@dataclass(frozen=True)
class KeyEntry:
    key_id: str
    public_key: str
    created_us: int
    retired_us: int | None
    endorsed_by: str | None
    endorsement: str | None


@dataclass(frozen=True)
class Manifest:
    export_id: str
    created_us: int
    exporter: PersonInfo
    camera: CameraInfo
    requested: TimeRange
    covered: TimeRange
    gaps: tuple[TimeRange, ...]
    grant: GrantInfo
    request: RequestInfo
    clip: FileInfo
    watermarked: FileInfo | None
    segments: tuple[SegmentEntry, ...]
    anchors: tuple[Anchor, ...]
    chain_after: tuple[ChainRow, ...]
    checkpoints: tuple[CheckpointEntry, ...]
    unsigned_tail: UnsignedTail | None
    keys: tuple[KeyEntry, ...]
    signer_key_id: str
    signer_public_key: str
    software: str
    originals_included: bool = True  # segments/ holds the sealed files (retrieve-original)


def _range(r: TimeRange) -> dict[str, Any]:
    return {
        "start_us": r.start_us,
        "end_us": r.end_us,
        "start": iso(r.start_us),
        "end": iso(r.end_us),
    }


def _person(p: PersonInfo) -> dict[str, Any]:
    return {
        "account_id": p.account_id,
        "username": p.username,
        "display_name": p.display_name,
        "work_id": p.work_id,
    }


def _file(f: FileInfo) -> dict[str, Any]:
    return {
        "file": f.file,
        "bytes": f.bytes,
        "sha256": f.sha256,
        "evidence": f.evidence,
        "method": f.method,
    }


def to_json(m: Manifest) -> dict[str, Any]:
    g, r = m.grant, m.request
    return {
        "format": FORMAT,
        "export": {
            "id": m.export_id,
            "created_us": m.created_us,
            "created": iso(m.created_us),
            "exporter": _person(m.exporter),
            "software": m.software,
        },
        "camera": {
            "id": m.camera.id,
            "name": m.camera.name,
            "place": m.camera.place,
            "site": m.camera.site,
        },
        "requested": _range(m.requested),
        "covered": {**_range(m.covered), "gaps": [_range(x) for x in m.gaps]},
        "grant": {
            "id": g.id,
            "action": g.action,
            "start_us": g.start_us,
            "end_us": g.end_us,
            "start": iso(g.start_us),
            "end": iso(g.end_us),
            "granted_us": g.granted_us,
            "granted": iso(g.granted_us),
            "granted_by": g.granted_by,
            "expires_us": g.expires_us,
            "expires": iso(g.expires_us),
        },
        "request": {
            "id": r.id,
            "organisation": {
                "id": r.organisation.id,
                "name": r.organisation.name,
                "kind": r.organisation.kind,
            },
            "basis": r.basis,
            "purpose": r.purpose,
            "destination": r.destination,
            "destination_abroad": r.destination_abroad,
            "jurisdiction": r.jurisdiction,
            "psb_approval_ref": r.psb_approval_ref,
            "judicial_approval_ref": r.judicial_approval_ref,
            "staff": [_person(p) for p in r.staff],
        },
        "clip": _file(m.clip),
        "originals_included": m.originals_included,
        "watermarked": None if m.watermarked is None else _file(m.watermarked),
        "segments": [
            {
                "seq": s.seq,
                "start_us": s.start_us,
                "end_us": s.end_us,
                "start": iso(s.start_us),
                "duration_us": s.duration_us,
                "bytes": s.bytes,
                "sha256": s.sha256,
                "link": s.link,
                "file": s.file,
                "archive_path": s.archive_path,
            }
            for s in m.segments
        ],
        "chain": {
            "anchors": [{"seq": a.seq, "link": a.link} for a in m.anchors],
            "after": [
                {
                    "seq": c.seq,
                    "start_us": c.start_us,
                    "end_us": c.end_us,
                    "bytes": c.bytes,
                    "sha256": c.sha256,
                    "link": c.link,
                }
                for c in m.chain_after
            ],
            "checkpoints": [
                {
                    "seq": c.seq,
                    "link": c.link,
                    "time_us": c.time_us,
                    "time": iso(c.time_us),
                    "key_id": c.key_id,
                    "signature": c.signature,
                }
                for c in m.checkpoints
            ],
            "unsigned_tail": None
            if m.unsigned_tail is None
            else {
                "first_seq": m.unsigned_tail.first_seq,
                "last_seq": m.unsigned_tail.last_seq,
                "reason": m.unsigned_tail.reason,
            },
        },
        "keys": [
            {
                "key_id": k.key_id,
                "public_key": k.public_key,
                "created_us": k.created_us,
                "retired_us": k.retired_us,
                "endorsed_by": k.endorsed_by,
                "endorsement": k.endorsement,
            }
            for k in m.keys
        ],
        "signer": {"key_id": m.signer_key_id, "public_key": m.signer_public_key},
    }


def encode(m: Manifest) -> bytes:
    """The manifest's bytes: sorted keys, two-space indent, UTF-8, one final newline. The
    signature is over exactly these bytes; a verifier never re-encodes."""
    text = json.dumps(to_json(m), sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


class ManifestError(ValueError):
    """The manifest is not a well-formed manifest of this format (names the field)."""


def _get(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ManifestError(f"{where}.{key} is missing")
    return d[key]


def _obj(v: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(v, dict):
        raise ManifestError(f"{where} is not an object")
    return v


def _list(v: Any, where: str) -> list[Any]:
    if not isinstance(v, list):
        raise ManifestError(f"{where} is not a list")
    return v


def _int(d: Mapping[str, Any], key: str, where: str) -> int:
    v = _get(d, key, where)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ManifestError(f"{where}.{key} is not an integer")
    return v


def _opt_int(d: Mapping[str, Any], key: str, where: str) -> int | None:
    return None if d.get(key) is None else _int(d, key, where)


def _str(d: Mapping[str, Any], key: str, where: str) -> str:
    v = _get(d, key, where)
    if not isinstance(v, str):
        raise ManifestError(f"{where}.{key} is not a string")
    return v


def _opt_str(d: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if d.get(key) is None else _str(d, key, where)


def _bool(d: Mapping[str, Any], key: str, where: str) -> bool:
    v = _get(d, key, where)
    if not isinstance(v, bool):
        raise ManifestError(f"{where}.{key} is not true or false")
    return v


def _hex(d: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str] = _HEX64) -> str:
    v = _str(d, key, where)
    if not pattern.match(v):
        raise ManifestError(f"{where}.{key} is not lower-case hex of the right length")
    return v


def _parse_range(v: Any, where: str) -> TimeRange:
    d = _obj(v, where)
    return TimeRange(_int(d, "start_us", where), _int(d, "end_us", where))


def _parse_person(v: Any, where: str) -> PersonInfo:
    d = _obj(v, where)
    return PersonInfo(
        _int(d, "account_id", where),
        _str(d, "username", where),
        _opt_str(d, "display_name", where),
        _opt_str(d, "work_id", where),
    )


def _parse_file(v: Any, where: str, name: str) -> FileInfo:
    d = _obj(v, where)
    f = FileInfo(
        _str(d, "file", where),
        _int(d, "bytes", where),
        _hex(d, "sha256", where),
        _bool(d, "evidence", where),
        _str(d, "method", where),
    )
    if f.file != name:
        raise ManifestError(f"{where}.file must be {name!r}")
    return f


def decode(raw: bytes) -> Manifest:
    """Parse a manifest; ManifestError names the first field that is wrong."""
    try:
        top = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"not JSON ({exc})") from None
    top = _obj(top, "manifest")
    if top.get("format") != FORMAT:
        raise ManifestError(f"format {top.get('format')!r} is not {FORMAT!r}")
    ex = _obj(_get(top, "export", "manifest"), "export")
    cam = _obj(_get(top, "camera", "manifest"), "camera")
    cov = _obj(_get(top, "covered", "manifest"), "covered")
    g = _obj(_get(top, "grant", "manifest"), "grant")
    r = _obj(_get(top, "request", "manifest"), "request")
    org = _obj(_get(r, "organisation", "request"), "request.organisation")
    chain = _obj(_get(top, "chain", "manifest"), "chain")
    signer = _obj(_get(top, "signer", "manifest"), "signer")
    originals = top.get("originals_included", True)  # v1 bundles before it always had them
    if not isinstance(originals, bool):
        raise ManifestError("manifest.originals_included is not true or false")
    segments = []
    for i, v in enumerate(_list(_get(top, "segments", "manifest"), "segments")):
        w = f"segments[{i}]"
        s = _obj(v, w)
        entry = SegmentEntry(
            _int(s, "seq", w),
            _int(s, "start_us", w),
            _int(s, "end_us", w),
            _int(s, "duration_us", w),
            _int(s, "bytes", w),
            _hex(s, "sha256", w),
            _hex(s, "link", w),
            _opt_str(s, "file", w),
            _str(s, "archive_path", w),
        )
        if originals and entry.file != segment_file(entry.seq):
            raise ManifestError(f"{w}.file must be {segment_file(entry.seq)!r}")
        if not originals and entry.file is not None:
            raise ManifestError(f"{w}.file must be null: the originals are not included")
        segments.append(entry)
    after = []
    for i, v in enumerate(_list(_get(chain, "after", "chain"), "chain.after")):
        w = f"chain.after[{i}]"
        c = _obj(v, w)
        after.append(
            ChainRow(
                _int(c, "seq", w),
                _int(c, "start_us", w),
                _int(c, "end_us", w),
                _int(c, "bytes", w),
                _hex(c, "sha256", w),
                _hex(c, "link", w),
            )
        )
    anchors = []
    for i, v in enumerate(_list(_get(chain, "anchors", "chain"), "chain.anchors")):
        w = f"chain.anchors[{i}]"
        a = _obj(v, w)
        anchors.append(Anchor(_int(a, "seq", w), _hex(a, "link", w)))
    cps = []
    for i, v in enumerate(_list(_get(chain, "checkpoints", "chain"), "chain.checkpoints")):
        w = f"chain.checkpoints[{i}]"
        c = _obj(v, w)
        key_id = _hex(c, "key_id", w, _KEY_ID)
        cps.append(
            CheckpointEntry(
                _int(c, "seq", w),
                _hex(c, "link", w),
                _int(c, "time_us", w),
                key_id,
                _hex(c, "signature", w, _HEX128),
            )
        )
    tail = None
    if chain.get("unsigned_tail") is not None:
        t = _obj(chain["unsigned_tail"], "chain.unsigned_tail")
        w = "chain.unsigned_tail"
        tail = UnsignedTail(_int(t, "first_seq", w), _int(t, "last_seq", w), _str(t, "reason", w))
    keys = []
    for i, v in enumerate(_list(_get(top, "keys", "manifest"), "keys")):
        w = f"keys[{i}]"
        k = _obj(v, w)
        keys.append(
            KeyEntry(
                _hex(k, "key_id", w, _KEY_ID),
                _hex(k, "public_key", w),
                _int(k, "created_us", w),
                _opt_int(k, "retired_us", w),
                None if k.get("endorsed_by") is None else _hex(k, "endorsed_by", w, _KEY_ID),
                None if k.get("endorsement") is None else _hex(k, "endorsement", w, _HEX128),
            )
        )
    wm = top.get("watermarked")
    return Manifest(
        export_id=_str(ex, "id", "export"),
        created_us=_int(ex, "created_us", "export"),
        exporter=_parse_person(_get(ex, "exporter", "export"), "export.exporter"),
        software=_str(ex, "software", "export"),
        camera=CameraInfo(
            _int(cam, "id", "camera"),
            _str(cam, "name", "camera"),
            _str(cam, "place", "camera"),
            _opt_str(cam, "site", "camera"),
        ),
        requested=_parse_range(_get(top, "requested", "manifest"), "requested"),
        covered=TimeRange(_int(cov, "start_us", "covered"), _int(cov, "end_us", "covered")),
        gaps=tuple(
            _parse_range(v, f"covered.gaps[{i}]")
            for i, v in enumerate(_list(_get(cov, "gaps", "covered"), "covered.gaps"))
        ),
        grant=GrantInfo(
            _int(g, "id", "grant"),
            _str(g, "action", "grant"),
            _int(g, "start_us", "grant"),
            _int(g, "end_us", "grant"),
            _int(g, "granted_us", "grant"),
            _str(g, "granted_by", "grant"),
            _int(g, "expires_us", "grant"),
        ),
        request=RequestInfo(
            _int(r, "id", "request"),
            OrganisationInfo(
                _int(org, "id", "request.organisation"),
                _str(org, "name", "request.organisation"),
                _str(org, "kind", "request.organisation"),
            ),
            _str(r, "basis", "request"),
            _str(r, "purpose", "request"),
            _str(r, "destination", "request"),
            _bool(r, "destination_abroad", "request"),
            _str(r, "jurisdiction", "request"),
            _opt_str(r, "psb_approval_ref", "request"),
            _opt_str(r, "judicial_approval_ref", "request"),
            tuple(
                _parse_person(v, f"request.staff[{i}]")
                for i, v in enumerate(_list(_get(r, "staff", "request"), "request.staff"))
            ),
        ),
        clip=_parse_file(_get(top, "clip", "manifest"), "clip", CLIP_FILE),
        watermarked=None if wm is None else _parse_file(wm, "watermarked", WATERMARKED_FILE),
        segments=tuple(segments),
        anchors=tuple(anchors),
        chain_after=tuple(after),
        checkpoints=tuple(cps),
        unsigned_tail=tail,
        keys=tuple(keys),
        signer_key_id=_hex(signer, "key_id", "signer", _KEY_ID),
        signer_public_key=_hex(signer, "public_key", "signer"),
        originals_included=originals,
    )


# The judgement ---------------------------------------------------------------------------------


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
    subject: str  # "clip.mp4", "segment 1234", "manifest.sig", "checkpoint 1299", "key …"
    problem: str
    failure: bool = True  # False: a warning (reported, the bundle still verifies)

    def __str__(self) -> str:
        return f"{self.subject}: {self.problem}"


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    manifest: Manifest | None = None
    signer_key_id: str | None = None
    checkpoint_key_ids: list[str] = field(default_factory=list)
    pinned: bool = False
    signed_through_seq: int | None = None  # the last exported seq a valid checkpoint vouches for
    unsigned_seqs: list[int] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.failure for f in self.findings)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.failure]

    def fail(self, subject: str, problem: str) -> None:
        self.findings.append(Finding(subject, problem))

    def warn(self, subject: str, problem: str) -> None:
        self.findings.append(Finding(subject, problem, failure=False))


def judge(
    facts: BundleFacts,
    signature_ok: SignatureCheck,
    *,
    pinned: Collection[str] | None = None,
) -> Verdict:
    """Judge a bundle. `pinned`: public keys (hex) the recipient trusts, e.g. from the
    installation's `custodes keys export`; None: trust the bundle's keys as stated (the
    verdict then says so, and the signer's key id must be compared by hand)."""
    v = Verdict(pinned=pinned is not None)
    if facts.manifest is None:
        v.fail(MANIFEST_FILE, "missing")
        return v
    try:
        m = decode(facts.manifest)
    except ManifestError as exc:
        v.fail(MANIFEST_FILE, f"not a valid manifest: {exc}")
        return v
    v.manifest = m
    v.signer_key_id = m.signer_key_id
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
            v.fail(f"key {k.key_id}", "its id is not the SHA-256 prefix of its public key")
            continue
        keys[k.key_id] = k
    for k in list(keys.values()):
        if k.endorsed_by is None:
            continue
        by = keys.get(k.endorsed_by)
        if by is None or k.endorsement is None:
            v.fail(f"key {k.key_id}", f"endorsed by key {k.endorsed_by}, not in the bundle")
        elif signature_ok(
            by.public_key, endorsement_message(k.key_id, k.public_key), k.endorsement
        ):
            continue
        else:
            v.fail(f"key {k.key_id}", f"the endorsement by key {k.endorsed_by} does not verify")
        keys[k.key_id] = KeyEntry(k.key_id, k.public_key, k.created_us, k.retired_us, None, None)
    return keys


def _check_signature(
    m: Manifest,
    facts: BundleFacts,
    keys: Mapping[str, KeyEntry],
    signature_ok: SignatureCheck,
    v: Verdict,
) -> None:
    if key_id_of(m.signer_public_key) != m.signer_key_id:
        v.fail(SIGNATURE_FILE, "the signer's key id is not the SHA-256 prefix of its public key")
    listed = keys.get(m.signer_key_id)
    if listed is None or listed.public_key != m.signer_public_key:
        v.fail(
            SIGNATURE_FILE,
            f"the manifest is signed by key {m.signer_key_id}, which is not "
            "in the bundle's key list",
        )
    sig = facts.signature
    if sig is None:
        v.fail(SIGNATURE_FILE, "missing: the manifest is not signed")
    elif len(sig) != 64:
        v.fail(SIGNATURE_FILE, f"not an Ed25519 signature ({len(sig)} bytes, not 64)")
    elif not signature_ok(m.signer_public_key, facts.manifest or b"", sig.hex()):
        v.fail(
            SIGNATURE_FILE,
            f"manifest signature invalid under key {m.signer_key_id}: manifest.json was changed "
            "or signed by another key",
        )


def _walk_chain(m: Manifest, v: Verdict) -> dict[int, bytes | None]:
    """Recompute the chain over the segments and the rows after them; returns seq -> link
    (None where there is no link to start from)."""
    rows: list[tuple[str, int, int, int, int, str, str]] = [
        (f"segment {s.seq}", s.seq, s.start_us, s.end_us, s.bytes, s.sha256, s.link)
        for s in m.segments
    ] + [
        (f"chain row {c.seq}", c.seq, c.start_us, c.end_us, c.bytes, c.sha256, c.link)
        for c in m.chain_after
    ]
    anchors = {a.seq: bytes.fromhex(a.link) for a in m.anchors}
    if -1 in anchors and anchors[-1] != GENESIS:
        v.fail("chain", "the anchor before seq 0 is not the genesis (32 zero bytes)")
    links: dict[int, bytes | None] = {}
    prev_seq: int | None = None
    prev: bytes | None = None
    for subject, seq, start, end, size, sha, stated in rows:
        if prev_seq is not None and seq <= prev_seq:
            v.fail(subject, f"out of order in the manifest (after seq {prev_seq})")
            continue
        if prev_seq is not None and seq == prev_seq + 1:
            base = prev
        elif seq - 1 in anchors:
            base = anchors[seq - 1]
        else:
            v.fail(
                subject,
                "no chain link before it in the manifest: the chain cannot be recomputed from here",
            )
            base = None
        link = None
        if base is not None:
            link = segment_link(base, m.camera.id, seq, start, end, size, sha)
            if link.hex() != stated:
                v.fail(
                    subject,
                    "its digest, times or size in the manifest do not give its chain "
                    "link (the entry was edited)",
                )
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
    anchors = {a.seq: a.link for a in m.anchors}
    for cp in m.checkpoints:
        subject = f"checkpoint {cp.seq}"
        key = keys.get(cp.key_id)
        message = Checkpoint(m.camera.id, cp.seq, cp.link, cp.time_us, cp.key_id).message()
        if key is None:
            v.fail(subject, f"signed by key {cp.key_id}, which is not in the bundle")
            continue
        if not signature_ok(key.public_key, message, cp.signature):
            v.fail(subject, f"its signature does not verify under key {cp.key_id}")
            continue
        if cp.key_id not in v.checkpoint_key_ids:
            v.checkpoint_key_ids.append(cp.key_id)
        if cp.seq in links:
            link = links[cp.seq]
            if link is not None and link.hex() != cp.link:
                v.fail(
                    subject,
                    "the chain recomputed from the manifest does not reach its "
                    "signed link (segment entries were altered)",
                )
            elif link is not None:
                good.append(cp)
        elif cp.seq in anchors and anchors[cp.seq] != cp.link:
            v.fail(subject, f"its signed link differs from the manifest's anchor at seq {cp.seq}")
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
    tail = m.unsigned_tail
    trailing = v.unsigned_seqs == exported[len(exported) - len(v.unsigned_seqs) :]
    if tail is not None and trailing and tail.first_seq <= first and tail.last_seq >= last:
        v.warn(
            _seqs(first, last),
            "unsigned tail: no checkpoint had been signed after them when they were exported "
            f"({tail.reason}); they rest on the manifest's signature alone",
        )
    else:
        v.fail(_seqs(first, last), "no signed checkpoint vouches for them")


def _seqs(first: int, last: int) -> str:
    return f"segment {first}" if first == last else f"segments {first}–{last}"


def _closure(start: Iterable[str], keys: Mapping[str, KeyEntry]) -> set[str]:
    """The keys in `start` and every key endorsed, directly or in a chain, by one of them
    (endorsements already checked)."""
    trusted = set(start)
    changed = True
    while changed:
        changed = False
        for k in keys.values():
            if k.key_id not in trusted and k.endorsed_by in trusted:
                trusted.add(k.key_id)
                changed = True
    return trusted


def _check_trust(
    m: Manifest,
    keys: Mapping[str, KeyEntry],
    good: Sequence[CheckpointEntry],
    pinned: Collection[str] | None,
    v: Verdict,
) -> None:
    signer = m.signer_key_id
    cp_keys = {cp.key_id for cp in good} or set(v.checkpoint_key_ids)
    if signer not in _closure(cp_keys, keys):
        held = ", ".join(sorted(cp_keys)) or "none"
        v.fail(
            SIGNATURE_FILE,
            f"the manifest is signed by key {signer}, which signed none of the footage's "
            f"checkpoints (signed by: {held}) and is not endorsed by a key that did",
        )
    if pinned is None:
        v.warn(
            SIGNATURE_FILE,
            f"signer key not pinned: verified against the bundle's own key only; compare "
            f"{signer} with the installation's published keys (`custodes keys export`), or "
            "pass --key",
        )
        return
    pinned_ids = {key_id_of(p) for p in pinned}
    trusted = _closure(pinned_ids, keys)
    names = ", ".join(sorted(pinned_ids)) or "none"
    if signer not in trusted:
        v.fail(
            SIGNATURE_FILE,
            f"signed by key {signer}, which is neither a pinned key ({names}) nor endorsed by "
            "one: this bundle was not signed by the installation you trust",
        )
    for key_id in sorted(set(v.checkpoint_key_ids) - trusted):
        v.fail(
            f"key {key_id}",
            f"signed checkpoints but is neither a pinned key ({names}) nor endorsed by one",
        )


def _check_statements(m: Manifest, v: Verdict) -> None:
    """What the manifest says must agree with itself."""
    if not m.segments:
        v.fail(MANIFEST_FILE, "lists no segments")
        return
    first, last = m.segments[0], m.segments[-1]
    if (m.covered.start_us, m.covered.end_us) != (first.start_us, last.end_us):
        v.fail(
            MANIFEST_FILE,
            "the covered range is not the first segment's start to the last segment's end",
        )
    if m.requested.start_us < m.grant.start_us or m.requested.end_us > m.grant.end_us:
        v.fail(MANIFEST_FILE, f"the requested range exceeds grant {m.grant.id}'s range")
    if m.covered.start_us < m.grant.start_us or m.covered.end_us > m.grant.end_us:
        v.fail(
            MANIFEST_FILE,
            f"the covered range exceeds grant {m.grant.id}'s range: footage outside the grant",
        )
    if m.grant.action not in ("copy", "retrieve-original"):
        v.fail(MANIFEST_FILE, f"grant {m.grant.id} is a {m.grant.action!r} grant, not a copy grant")
    if m.originals_included and m.grant.action != "retrieve-original":
        v.warn(  # bundles made before copy grants stopped yielding the originals
            MANIFEST_FILE,
            f"the original segment files are included, but grant {m.grant.id} is a "
            f"{m.grant.action!r} grant, not a retrieve-original grant",
        )
    for s in m.segments:
        if s.end_us <= m.requested.start_us or s.start_us >= m.requested.end_us:
            v.fail(f"segment {s.seq}", "lies outside the requested range")


def _check_files(m: Manifest, facts: BundleFacts, v: Verdict) -> None:
    expected: dict[str, tuple[str, int, str]] = {}
    expected[m.clip.file] = (m.clip.file, m.clip.bytes, m.clip.sha256)
    if m.watermarked is not None:
        w = m.watermarked
        expected[w.file] = (f"{w.file} (re-encoded viewing copy)", w.bytes, w.sha256)
    for s in m.segments:
        if s.file is not None:  # absent under a copy grant: the chain vouches for the digests
            expected[s.file] = (f"segment {s.seq}", s.bytes, s.sha256)
    for name, (subject, size, sha) in expected.items():
        got = facts.files.get(name)
        if got is None:
            v.fail(subject, f"missing ({name})" if subject != name else "missing")
        elif got.sha256 != sha:
            v.fail(
                subject,
                f"sha256 differs from the manifest ({name}: {got.bytes} bytes, manifest {size})",
            )
        elif got.bytes != size:
            v.fail(subject, f"size differs from the manifest ({got.bytes}, manifest {size})")
    for name in sorted(set(facts.files) - set(expected)):
        v.warn(name, "in the bundle but not named by the manifest: not verified, not evidence")
    for name in facts.odd:
        v.fail(name, "not a regular file (a link or a device): not verified")
