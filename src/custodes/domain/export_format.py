"""The export manifest's format, `custodes-export-v1`: pydantic models of the document, its
exact encoding, its strict decoding, and the JSON Schema that docs/EXPORTS.md publishes for
independent verifiers. Pure: no I/O.

A bundle (docs/EXPORTS.md) is a directory: `clip.mp4` (stream copy of the sealed segments),
under a retrieve-original grant only `segments/` (the sealed segment files themselves),
optionally `clip-watermarked.mp4` (a re-encoded viewing copy, not evidence), `manifest.json`
and `manifest.sig` (a detached Ed25519 signature over the manifest's exact bytes).

The models mirror the JSON document field for field. Decoding is strict: a wrong type (a bool
is not an integer, a number is not a string), a missing field, a field the format does not
have, hex of the wrong case or length, a time outside 1970–2200, an integer outside what the
chain's 8-byte fields hold, an ISO 8601 twin that is not its µs value's: each is a
ManifestError naming the field. The one field a v1 manifest may lack is
`originals_included` (bundles made before it always held the originals: true).

`encode` writes the same bytes as every earlier version for the same manifest (keys sorted,
two-space indent, UTF-8, one final newline): the signature is over those bytes, and a
verifier never re-encodes.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    computed_field,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticCustomError

from custodes.domain import instants
from custodes.domain.export_wording import MANIFEST_PROBLEMS
from custodes.domain.finding_wording import Part, english

FORMAT: Final = "custodes-export-v1"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
CLIP_FILE = "clip.mp4"
WATERMARKED_FILE = "clip-watermarked.mp4"
SEGMENTS_DIR = "segments"
# The same message services/keys.py has the retiring key sign over its successor.
ENDORSEMENT_DOMAIN = b"custodes-key-endorsement-v1\x00"

INT64_MAX = 2**63 - 1  # the chain packs seqs, times and sizes as 8-byte signed integers
# 1970-01-01 to 2200-01-01, the range of every time from outside: else a forgery
EARLIEST_US, LATEST_US = instants.EARLIEST_US, instants.LATEST_US
SCHEMA_ID = "urn:custodes:schema:custodes-export-v1"


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


# The field types ------------------------------------------------------------------------------

Micros = Annotated[
    int,
    Field(
        ge=EARLIEST_US,
        le=LATEST_US,
        description="µs since the epoch, UTC (authoritative; 1970 to 2200)",
    ),
]
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
Seq = Annotated[int, Field(ge=0, le=INT64_MAX, description="the segment's place in its chain")]
Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="64 lower-case hex")]
Link = Annotated[
    str, Field(pattern=r"^[0-9a-f]{64}$", description="a chain link: 64 lower-case hex")
]
PublicKey = Annotated[
    str, Field(pattern=r"^[0-9a-f]{64}$", description="raw Ed25519 public key: 64 lower-case hex")
]
KeyId = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{16}$",
        description="the first 16 hex digits of SHA-256 over the raw public key",
    ),
]
Signature = Annotated[
    str, Field(pattern=r"^[0-9a-f]{128}$", description="Ed25519 signature: 128 lower-case hex")
]


class _Part(BaseModel):
    """Every object of the manifest: strict types, no fields but the format's, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _Timed(_Part):
    """An object with ISO 8601 twins of its µs times (`TWINS`: twin -> µs field). `encode`
    writes each twin from its µs value; decoding requires it and that it says the same."""

    TWINS: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _take_twins(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data  # the object's own type error follows
        data = dict(data)
        for twin, us in cls.TWINS.items():
            value = data.get(us)
            valid_us = type(value) is int and EARLIEST_US <= value <= LATEST_US
            if twin not in data:
                # built in Python, a twin is computed, not given; an invalid µs value is
                # reported by itself
                if info.mode == "json" and valid_us:
                    raise PydanticCustomError("twin_missing", "is missing", {"field": twin})
                continue
            stated = data.pop(twin)
            if valid_us and stated != iso(value):
                raise PydanticCustomError(
                    "twin_differs",
                    "is not {expected}, the ISO 8601 form of {us}",
                    {"field": twin, "expected": iso(value), "us": us},
                )
        return data


_TWIN = "ISO 8601 twin of the µs field, for people: it must say the same"


# The manifest ----------------------------------------------------------------------------------


class TimeRange(_Timed):
    TWINS: ClassVar[dict[str, str]] = {"start": "start_us", "end": "end_us"}
    start_us: Micros
    end_us: Micros

    @computed_field(description=_TWIN)  # type: ignore[prop-decorator]
    @property
    def start(self) -> str:
        return iso(self.start_us)

    @computed_field(description=_TWIN)  # type: ignore[prop-decorator]
    @property
    def end(self) -> str:
        return iso(self.end_us)


class Covered(TimeRange):
    """The first exported segment's start to the last one's end, and the recording's gaps
    inside it (the clip plays the segments back to back)."""

    # lax for the container only: the twins' check hands the object on as Python data, in
    # which a strict tuple would refuse JSON's list; the gaps themselves stay strict
    gaps: tuple[TimeRange, ...] = Field(strict=False)


class PersonInfo(_Part):
    account_id: Id
    username: str
    display_name: str | None
    work_id: str | None


class ExportInfo(_Timed):
    TWINS: ClassVar[dict[str, str]] = {"created": "created_us"}
    id: str = Field(description="UTC creation time and 8 random hex digits")
    created_us: Micros
    exporter: PersonInfo
    software: str = Field(description="the Custodes and ffmpeg versions")

    @computed_field(description=_TWIN)  # type: ignore[prop-decorator]
    @property
    def created(self) -> str:
        return iso(self.created_us)


class CameraInfo(_Part):
    id: Id
    name: str
    place: str
    site: str | None


class GrantInfo(_Timed):
    TWINS: ClassVar[dict[str, str]] = {
        "start": "start_us",
        "end": "end_us",
        "granted": "granted_us",
        "expires": "expires_us",
    }
    id: Id
    action: str = Field(description="copy or retrieve-original (view grants yield no file)")
    start_us: Micros
    end_us: Micros
    granted_us: Micros
    granted_by: str
    expires_us: Micros

    @computed_field(description=_TWIN)  # type: ignore[prop-decorator]
    @property
    def start(self) -> str:
        return iso(self.start_us)

    @computed_field(description=_TWIN)  # type: ignore[prop-decorator]
    @property
    def end(self) -> str:
        return iso(self.end_us)

    @computed_field(description=_TWIN)  # type: ignore[prop-decorator]
    @property
    def granted(self) -> str:
        return iso(self.granted_us)

    @computed_field(description=_TWIN)  # type: ignore[prop-decorator]
    @property
    def expires(self) -> str:
        return iso(self.expires_us)


class OrganisationInfo(_Part):
    id: Id
    name: str
    kind: str


class RequestInfo(_Part):
    id: Id
    organisation: OrganisationInfo
    basis: str
    purpose: str
    destination: str
    destination_abroad: bool
    jurisdiction: str
    psb_approval_ref: str | None
    judicial_approval_ref: str | None
    staff: tuple[PersonInfo, ...] = Field(description="who signed the request, as signed")


class FileInfo(_Part):
    """A video file of the bundle. `evidence`: the stream copy (true) or a re-encoded viewing
    copy (false)."""

    file: str
    bytes: Count
    sha256: Sha256
    evidence: bool
    method: str


class SegmentEntry(_Timed):
    TWINS: ClassVar[dict[str, str]] = {"start": "start_us"}
    seq: Seq
    start_us: Micros
    end_us: Micros
    duration_us: Count = Field(description="media duration (the clip's, per segment)")
    bytes: Count
    sha256: Sha256
    link: Link
    file: str | None = Field(description="in the bundle; null when the originals are not")
    archive_path: str

    @computed_field(description=_TWIN)  # type: ignore[prop-decorator]
    @property
    def start(self) -> str:
        return iso(self.start_us)


class ChainRow(_Part):
    """An index row after the last exported segment, up to the closing checkpoint: what the
    chain needs to reach a signature, without the footage."""

    seq: Seq
    start_us: Micros
    end_us: Micros
    bytes: Count
    sha256: Sha256
    link: Link


class Anchor(_Part):
    """The chain's link at `seq` (the row before a run of exported segments); seq -1 is the
    genesis (32 zero bytes)."""

    seq: int = Field(ge=-1, le=INT64_MAX)
    link: Link


class CheckpointEntry(_Timed):
    TWINS: ClassVar[dict[str, str]] = {"time": "time_us"}
    seq: Seq
    link: Link
    time_us: Micros
    key_id: KeyId
    signature: Signature

    @computed_field(description=_TWIN)  # type: ignore[prop-decorator]
    @property
    def time(self) -> str:
        return iso(self.time_us)


class UnsignedTail(_Part):
    """Bundles made before exports signed their closing checkpoint: the exported segments no
    checkpoint had yet vouched for."""

    first_seq: Seq
    last_seq: Seq
    reason: str


class Chain(_Part):
    anchors: tuple[Anchor, ...] = Field(description="the link before each run of seqs")
    after: tuple[ChainRow, ...] = Field(description="rows up to the closing checkpoint")
    checkpoints: tuple[CheckpointEntry, ...] = Field(
        description="from the one before the first segment up to the closing one"
    )
    unsigned_tail: UnsignedTail | None = Field(description="null in every bundle made now")


class KeyEntry(_Part):
    key_id: KeyId
    public_key: PublicKey
    created_us: Micros
    retired_us: Micros | None
    endorsed_by: KeyId | None = Field(description="the retiring key that endorsed this one")
    endorsement: Signature | None


class SignerInfo(_Part):
    key_id: KeyId
    public_key: PublicKey


class Manifest(_Part):
    """`manifest.json` of an export bundle (docs/EXPORTS.md)."""

    model_config = ConfigDict(
        title="custodes-export-v1 manifest",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_ID,
        },
    )

    format: Literal["custodes-export-v1"]
    export: ExportInfo
    camera: CameraInfo
    requested: TimeRange
    covered: Covered
    originals_included: bool = Field(
        default=True,
        description="segments/ holds the sealed files (retrieve-original); absent in early "
        "bundles, which always held them",
    )
    grant: GrantInfo
    request: RequestInfo
    clip: FileInfo
    watermarked: FileInfo | None
    segments: tuple[SegmentEntry, ...]
    chain: Chain
    keys: tuple[KeyEntry, ...] = Field(description="every public key the installation used")
    signer: SignerInfo = Field(description="the key that signed manifest.sig")

    @model_validator(mode="after")
    def _files_are_where_the_format_puts_them(self) -> Manifest:
        if self.clip.file != CLIP_FILE:
            raise _at("clip.file", "must-be", value=repr(CLIP_FILE))
        if self.watermarked is not None and self.watermarked.file != WATERMARKED_FILE:
            raise _at("watermarked.file", "must-be", value=repr(WATERMARKED_FILE))
        for i, s in enumerate(self.segments):
            if self.originals_included and s.file != segment_file(s.seq):
                raise _at(f"segments[{i}].file", "must-be", value=repr(segment_file(s.seq)))
            if not self.originals_included and s.file is not None:
                raise _at(f"segments[{i}].file", "must-be-null")
        return self


def _at(path: str, key: str, **params: str) -> PydanticCustomError:
    """A rule of the format broken at `path`: worded by `key` of MANIFEST_PROBLEMS."""
    shown = {"path": path, **params}
    problem = english([(key, shown)], MANIFEST_PROBLEMS) or key
    return PydanticCustomError(
        "manifest_rule", "{problem}", {"key": key, "params": shown, "problem": problem}
    )


# Encoding and decoding ------------------------------------------------------------------------


def to_json(m: Manifest) -> dict[str, Any]:
    """The manifest as a JSON object (with the ISO 8601 twins)."""
    return m.model_dump(mode="json")


def encode(m: Manifest) -> bytes:
    """The manifest's bytes: sorted keys, two-space indent, UTF-8, one final newline. The
    signature is over exactly these bytes; a verifier never re-encodes."""
    text = json.dumps(to_json(m), sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


class ManifestError(ValueError):
    """The manifest is not a well-formed manifest of this format (names the field); `parts`
    word it (domain/export_wording.py MANIFEST_PROBLEMS)."""

    def __init__(self, message: str, parts: tuple[Part, ...] = ()) -> None:
        super().__init__(message)
        self.parts = parts


def decode(raw: bytes) -> Manifest:
    """Parse a manifest; ManifestError names the first field that is wrong (and how many
    more there are)."""
    try:
        return Manifest.model_validate_json(raw)
    except ValidationError as exc:
        parts = describe_parts(exc)
        raise ManifestError(english(parts, MANIFEST_PROBLEMS) or str(exc), parts) from None


def describe(exc: ValidationError) -> str:
    """A validation error of the manifest in words: the first problem, with its field."""
    return english(describe_parts(exc), MANIFEST_PROBLEMS) or str(exc)


def describe_parts(exc: ValidationError) -> tuple[Part, ...]:
    """The same, as parts (keys of domain/export_wording.py MANIFEST_PROBLEMS): said in the
    reader's language by `custodes verify-export`."""
    errors = exc.errors(include_url=False)
    if not errors:
        return (("other", {"path": "manifest", "message": str(exc)}),)
    more = len(errors) - 1
    tail: tuple[Part, ...] = ()
    if more == 1:
        tail = (("more-problem", {}),)
    elif more > 1:
        tail = (("more-problems", {"n": str(more)}),)
    return (_problem(errors[0]), *tail)


_PHRASES = {  # a kind of pydantic's error → a key of MANIFEST_PROBLEMS
    "missing": "field-missing",
    "twin_missing": "field-missing",
    "extra_forbidden": "not-a-field",
    "int_type": "not-int",
    "string_type": "not-string",
    "bool_type": "not-bool",
    "tuple_type": "not-list",
    "model_type": "not-object",
    "model_attributes_type": "not-object",
}


def _problem(error: Any) -> Part:
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    loc = [*error["loc"]]
    if kind in ("twin_missing", "twin_differs"):
        loc.append(ctx["field"])
    path = _path(loc)
    if kind == "json_invalid":
        return "not-json", {"error": str(ctx.get("error", error["msg"]))}
    if kind == "manifest_rule":
        return str(ctx["key"]), {k: str(v) for k, v in ctx["params"].items()}
    if kind == "twin_differs":
        return "twin-differs", {
            "path": path,
            "expected": str(ctx["expected"]),
            "us": str(ctx["us"]),
        }
    if kind == "string_pattern_mismatch":
        digits = re.search(r"\{(\d+)\}", str(ctx.get("pattern", "")))
        if digits:
            return "not-hex", {"path": path, "digits": digits[1]}
        return "not-hex-any", {"path": path}
    if kind in ("greater_than_equal", "less_than_equal"):
        if loc and str(loc[-1]).endswith("_us"):
            return "not-a-time", {"path": path}
        below = kind == "greater_than_equal"
        limit = ctx.get("ge" if below else "le", "?")
        return ("below" if below else "above"), {"path": path, "limit": str(limit)}
    if kind == "literal_error":  # the format's name, the only literal
        return "not-format", {
            "path": path,
            "value": repr(error.get("input"))[:80],
            "format": repr(FORMAT),
        }
    key = _PHRASES.get(kind)
    if key == "not-a-field":
        return key, {"path": path, "format": FORMAT}
    if key is not None:
        return key, {"path": path}
    return "other", {"path": path, "message": str(error["msg"])}


def _path(loc: list[Any]) -> str:
    out = "manifest"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out == "manifest":
            out = str(part)
        else:
            out += f".{part}"
    return out


# The schema -----------------------------------------------------------------------------------


class _Lean(GenerateJsonSchema):
    """Property titles repeat the names: left out."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `manifest.json`, as docs/EXPORTS.md publishes it:
    the document `encode` writes (with its ISO 8601 twins) and `decode` accepts."""
    return Manifest.model_json_schema(mode="serialization", schema_generator=_Lean)
