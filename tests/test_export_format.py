"""The manifest's format (domain/export_format.py): the encoding is pinned byte for byte (the
signature is over exact bytes), every bundle made so far decodes, decoding is strict and names
the field, the JSON Schema published in docs/EXPORTS.md is the one the models produce, and no
bundle — forged, truncated or absurd — makes `verify-export` print a traceback."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs  # schemathesis's, installed with the dev extras
import pytest

from custodes.domain import export_format as fmt
from custodes.domain.export_judgement import BundleFacts, Outcome, judge
from custodes.services.signing import signature_ok

from .bundles import copy_bundle, rewrite_manifest, verify_cli

T = 1_795_000_000_000_000
DOC = Path(__file__).resolve().parent.parent / "docs" / "EXPORTS.md"
OFFICER = fmt.PersonInfo(
    account_id=7, username="officer1", display_name="警官 Officer One", work_id="警001234"
)
FIXED = fmt.Manifest(
    format=fmt.FORMAT,
    export=fmt.ExportInfo(
        id="20261118T181708Z-582b6b2d",
        created_us=T + 3_600_000_000,
        exporter=OFFICER,
        software="custodes 0.1.0; ffmpeg 5.1.6",
    ),
    camera=fmt.CameraInfo(id=3, name="gate", place="entrance", site=None),
    requested=fmt.TimeRange(start_us=T + 2_500_000, end_us=T + 7_500_000),
    covered=fmt.Covered(
        start_us=T + 2_000_000,
        end_us=T + 8_000_000,
        gaps=(fmt.TimeRange(start_us=T + 4_000_000, end_us=T + 6_000_000),),
    ),
    grant=fmt.GrantInfo(
        id=11,
        action="retrieve-original",
        start_us=T - 60_000_000,
        end_us=T + 60_000_000,
        granted_us=T - 120_000_000,
        granted_by="manager",
        expires_us=T + 86_400_000_000,
    ),
    request=fmt.RequestInfo(
        id=5,
        organisation=fmt.OrganisationInfo(
            id=2, name="市公安局 City Public Security Bureau", kind="public-security"
        ),
        basis="law-enforcement",
        purpose="案件侦查 case investigation",
        destination="市公安局刑侦支队 evidence room",
        destination_abroad=False,
        jurisdiction="jilin",
        psb_approval_ref="PSB-2026-17",
        judicial_approval_ref=None,
        staff=(
            OFFICER,
            fmt.PersonInfo(
                account_id=8, username="officer2", display_name=None, work_id="警005678"
            ),
        ),
    ),
    clip=fmt.FileInfo(
        file="clip.mp4", bytes=123456, sha256="ab" * 32, evidence=True, method="stream copy"
    ),
    watermarked=fmt.FileInfo(
        file="clip-watermarked.mp4",
        bytes=654321,
        sha256="cd" * 32,
        evidence=False,
        method="re-encoded",
    ),
    segments=(
        fmt.SegmentEntry(
            seq=2,
            start_us=T + 2_000_000,
            end_us=T + 4_000_000,
            duration_us=2_000_000,
            bytes=1000,
            sha256="01" * 32,
            link="02" * 32,
            file="segments/000000000002.mp4",
            archive_path="cam00003/2026/11/18/run1-00000002.mp4",
        ),
        fmt.SegmentEntry(
            seq=3,
            start_us=T + 6_000_000,
            end_us=T + 8_000_000,
            duration_us=1_999_960,
            bytes=1001,
            sha256="03" * 32,
            link="04" * 32,
            file="segments/000000000003.mp4",
            archive_path="cam00003/2026/11/18/run2-00000000.mp4",
        ),
    ),
    chain=fmt.Chain(
        anchors=(fmt.Anchor(seq=1, link="05" * 32),),
        after=(
            fmt.ChainRow(
                seq=4,
                start_us=T + 8_000_000,
                end_us=T + 10_000_000,
                bytes=1002,
                sha256="06" * 32,
                link="07" * 32,
            ),
        ),
        checkpoints=(
            fmt.CheckpointEntry(
                seq=0,
                link="08" * 32,
                time_us=T + 1_000_000,
                key_id="0123456789abcdef",
                signature="09" * 64,
            ),
            fmt.CheckpointEntry(
                seq=4,
                link="07" * 32,
                time_us=T + 10_000_000,
                key_id="fedcba9876543210",
                signature="0a" * 64,
            ),
        ),
        unsigned_tail=fmt.UnsignedTail(
            first_seq=3, last_seq=3, reason="the camera was still recording"
        ),
    ),
    keys=(
        fmt.KeyEntry(
            key_id="0123456789abcdef",
            public_key="0b" * 32,
            created_us=T - 1_000_000_000,
            retired_us=T + 5_000_000,
            endorsed_by=None,
            endorsement=None,
        ),
        fmt.KeyEntry(
            key_id="fedcba9876543210",
            public_key="0c" * 32,
            created_us=T + 5_000_000,
            retired_us=None,
            endorsed_by="0123456789abcdef",
            endorsement="0d" * 64,
        ),
    ),
    signer=fmt.SignerInfo(key_id="fedcba9876543210", public_key="0c" * 32),
    originals_included=True,
)

# What the hand-written encoder of every version before the pydantic models wrote for FIXED
# (made with that code): the new one must write the same bytes.
PINNED = """\
{
  "camera": {
    "id": 3,
    "name": "gate",
    "place": "entrance",
    "site": null
  },
  "chain": {
    "after": [
      {
        "bytes": 1002,
        "end_us": 1795000010000000,
        "link": "0707070707070707070707070707070707070707070707070707070707070707",
        "seq": 4,
        "sha256": "0606060606060606060606060606060606060606060606060606060606060606",
        "start_us": 1795000008000000
      }
    ],
    "anchors": [
      {
        "link": "0505050505050505050505050505050505050505050505050505050505050505",
        "seq": 1
      }
    ],
    "checkpoints": [
      {
        "key_id": "0123456789abcdef",
        "link": "0808080808080808080808080808080808080808080808080808080808080808",
        "seq": 0,
        "signature": "09090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909090909",
        "time": "2026-11-18T11:06:41.000000Z",
        "time_us": 1795000001000000
      },
      {
        "key_id": "fedcba9876543210",
        "link": "0707070707070707070707070707070707070707070707070707070707070707",
        "seq": 4,
        "signature": "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a",
        "time": "2026-11-18T11:06:50.000000Z",
        "time_us": 1795000010000000
      }
    ],
    "unsigned_tail": {
      "first_seq": 3,
      "last_seq": 3,
      "reason": "the camera was still recording"
    }
  },
  "clip": {
    "bytes": 123456,
    "evidence": true,
    "file": "clip.mp4",
    "method": "stream copy",
    "sha256": "abababababababababababababababababababababababababababababababab"
  },
  "covered": {
    "end": "2026-11-18T11:06:48.000000Z",
    "end_us": 1795000008000000,
    "gaps": [
      {
        "end": "2026-11-18T11:06:46.000000Z",
        "end_us": 1795000006000000,
        "start": "2026-11-18T11:06:44.000000Z",
        "start_us": 1795000004000000
      }
    ],
    "start": "2026-11-18T11:06:42.000000Z",
    "start_us": 1795000002000000
  },
  "export": {
    "created": "2026-11-18T12:06:40.000000Z",
    "created_us": 1795003600000000,
    "exporter": {
      "account_id": 7,
      "display_name": "警官 Officer One",
      "username": "officer1",
      "work_id": "警001234"
    },
    "id": "20261118T181708Z-582b6b2d",
    "software": "custodes 0.1.0; ffmpeg 5.1.6"
  },
  "format": "custodes-export-v1",
  "grant": {
    "action": "retrieve-original",
    "end": "2026-11-18T11:07:40.000000Z",
    "end_us": 1795000060000000,
    "expires": "2026-11-19T11:06:40.000000Z",
    "expires_us": 1795086400000000,
    "granted": "2026-11-18T11:04:40.000000Z",
    "granted_by": "manager",
    "granted_us": 1794999880000000,
    "id": 11,
    "start": "2026-11-18T11:05:40.000000Z",
    "start_us": 1794999940000000
  },
  "keys": [
    {
      "created_us": 1794999000000000,
      "endorsed_by": null,
      "endorsement": null,
      "key_id": "0123456789abcdef",
      "public_key": "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
      "retired_us": 1795000005000000
    },
    {
      "created_us": 1795000005000000,
      "endorsed_by": "0123456789abcdef",
      "endorsement": "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d",
      "key_id": "fedcba9876543210",
      "public_key": "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
      "retired_us": null
    }
  ],
  "originals_included": true,
  "request": {
    "basis": "law-enforcement",
    "destination": "市公安局刑侦支队 evidence room",
    "destination_abroad": false,
    "id": 5,
    "judicial_approval_ref": null,
    "jurisdiction": "jilin",
    "organisation": {
      "id": 2,
      "kind": "public-security",
      "name": "市公安局 City Public Security Bureau"
    },
    "psb_approval_ref": "PSB-2026-17",
    "purpose": "案件侦查 case investigation",
    "staff": [
      {
        "account_id": 7,
        "display_name": "警官 Officer One",
        "username": "officer1",
        "work_id": "警001234"
      },
      {
        "account_id": 8,
        "display_name": null,
        "username": "officer2",
        "work_id": "警005678"
      }
    ]
  },
  "requested": {
    "end": "2026-11-18T11:06:47.500000Z",
    "end_us": 1795000007500000,
    "start": "2026-11-18T11:06:42.500000Z",
    "start_us": 1795000002500000
  },
  "segments": [
    {
      "archive_path": "cam00003/2026/11/18/run1-00000002.mp4",
      "bytes": 1000,
      "duration_us": 2000000,
      "end_us": 1795000004000000,
      "file": "segments/000000000002.mp4",
      "link": "0202020202020202020202020202020202020202020202020202020202020202",
      "seq": 2,
      "sha256": "0101010101010101010101010101010101010101010101010101010101010101",
      "start": "2026-11-18T11:06:42.000000Z",
      "start_us": 1795000002000000
    },
    {
      "archive_path": "cam00003/2026/11/18/run2-00000000.mp4",
      "bytes": 1001,
      "duration_us": 1999960,
      "end_us": 1795000008000000,
      "file": "segments/000000000003.mp4",
      "link": "0404040404040404040404040404040404040404040404040404040404040404",
      "seq": 3,
      "sha256": "0303030303030303030303030303030303030303030303030303030303030303",
      "start": "2026-11-18T11:06:46.000000Z",
      "start_us": 1795000006000000
    }
  ],
  "signer": {
    "key_id": "fedcba9876543210",
    "public_key": "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"
  },
  "watermarked": {
    "bytes": 654321,
    "evidence": false,
    "file": "clip-watermarked.mp4",
    "method": "re-encoded",
    "sha256": "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
  }
}
"""  # noqa: E501
PINNED_SHA256 = "ddccf3d6199443b536e9a45018d392880d90419db1affc7d4d78f7771159fdd2"


def test_the_encoding_of_a_fixed_manifest_is_pinned() -> None:
    raw = fmt.encode(FIXED)
    assert hashlib.sha256(PINNED.encode()).hexdigest() == PINNED_SHA256  # the fixture itself
    assert raw == PINNED.encode("utf-8")


def test_every_bundle_made_so_far_decodes() -> None:
    assert fmt.decode(PINNED.encode()) == FIXED
    # the first bundles (before copy grants stopped yielding the originals) had no
    # `originals_included`: they held the originals
    early = PINNED.replace('  "originals_included": true,\n', "")
    assert early != PINNED and fmt.decode(early.encode()) == FIXED
    copy = json.loads(PINNED)
    copy["originals_included"] = False
    for s in copy["segments"]:
        s["file"] = None
    assert fmt.decode(json.dumps(copy).encode()).originals_included is False


def _edit(change: Callable[[dict[str, Any]], None]) -> bytes:
    doc = json.loads(PINNED)
    change(doc)
    return json.dumps(doc, ensure_ascii=False).encode()


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for p in parents:
            node = node[p]
        node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for p in parents:
            node = node[p]
        del node[last]

    return change


YEAR_9999 = 253_402_300_799_000_000


# a manifest edited, and the start of what decoding says of it
STRICT_CASES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_set("segments.0.seq", True), "segments[0].seq is not an integer"),
    (_set("segments.0.bytes", 1000.0), "segments[0].bytes is not an integer"),
    (_set("camera.id", "3"), "camera.id is not an integer"),
    (_set("request.destination_abroad", 0), "request.destination_abroad is not true or false"),
    (_set("camera.name", 5), "camera.name is not a string"),
    (_drop("request.staff.1.username"), "request.staff[1].username is missing"),
    (_drop("chain.unsigned_tail"), "chain.unsigned_tail is missing"),
    (_drop("watermarked"), "watermarked is missing"),
    (_set("keys.0.comment", "x"), f"keys[0].comment is not a field of {fmt.FORMAT}"),
    (_set("extra", {}), f"extra is not a field of {fmt.FORMAT}"),
    (_set("clip.sha256", "AB" * 32), "clip.sha256 is not lower-case hex of 64 digits"),
    (_set("segments.1.link", "04" * 31), "segments[1].link is not lower-case hex of 64"),
    (_set("signer.key_id", "0123"), "signer.key_id is not lower-case hex of 16 digits"),
    (
        _set("chain.checkpoints.0.signature", "zz" * 64),
        "chain.checkpoints[0].signature is not lower-case hex of 128 digits",
    ),
    (
        _set("export.created_us", YEAR_9999),
        "export.created_us is not a time between 1970 and 2200",
    ),
    (_set("segments.0.start_us", -1), "segments[0].start_us is not a time between 1970"),
    (_set("segments.0.bytes", 2**63), "segments[0].bytes is out of range"),
    (_set("chain.anchors.0.seq", -2), "chain.anchors[0].seq is out of range"),
    (
        _set("covered.gaps.0.start", "2026-11-18T11:06:45.000000Z"),
        "covered.gaps[0].start is not 2026-11-18T11:06:44.000000Z, the ISO 8601 form of start_us",
    ),
    (_drop("chain.checkpoints.1.time"), "chain.checkpoints[1].time is missing"),
    (_set("clip.file", "../clip.mp4"), "clip.file must be 'clip.mp4'"),
    (
        _set("segments.1.file", "segments/000000000002.mp4"),
        "segments[1].file must be 'segments/000000000003.mp4'",
    ),
    (_set("format", "custodes-export-v2"), "format 'custodes-export-v2' is not"),
    (_set("segments", {}), "segments is not a list"),
    (_set("chain", []), "chain is not an object"),
]


@pytest.mark.parametrize(("change", "message"), STRICT_CASES)
def test_decoding_is_strict_and_names_the_field(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    with pytest.raises(fmt.ManifestError) as caught:
        fmt.decode(_edit(change))
    assert str(caught.value).startswith(message), str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (PINNED.encode()[: len(PINNED) // 2], "not JSON"),
        (b"[" * 100_000, "not JSON (recursion limit exceeded"),
        (b"[]", "manifest is not an object"),
        (b'"\\ud800"', "not JSON"),
        (b"{}", "format is missing"),
    ],
)
def test_what_is_not_a_manifest_at_all_is_named(raw: bytes, message: str) -> None:
    with pytest.raises(fmt.ManifestError, match=re.escape(message)):
        fmt.decode(raw)


def _published_schema() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- manifest-schema: begin -->\n```json\n(.*?)\n```\n<!-- manifest-schema: end -->",
        text,
        re.DOTALL,
    )
    assert found, f"{DOC.name} has no manifest-schema block"
    schema = json.loads(found[1])
    assert isinstance(schema, dict)
    return schema


def test_the_schema_in_the_document_is_the_one_the_models_produce() -> None:
    """docs/EXPORTS.md cannot drift from the code: regenerate its block with
    `python -c "import json; from custodes.domain.export_format import manifest_schema;
    print(json.dumps(manifest_schema(), indent=2, ensure_ascii=False))"`."""
    assert _published_schema() == fmt.manifest_schema()


def test_an_independent_validator_of_the_schema_agrees_with_decode() -> None:
    """The published schema accepts what `encode` writes and refuses what `decode` refuses
    for its types, fields and patterns (the ISO twins' agreement and the file names are the
    rules beyond a schema)."""
    validator = jsonschema_rs.validator_for(_published_schema())
    assert validator.is_valid(json.loads(PINNED))
    assert validator.is_valid(json.loads(PINNED.replace('  "originals_included": true,\n', "")))
    for change in (
        _set("segments.0.seq", True),
        _set("keys.0.comment", "x"),
        _set("clip.sha256", "AB" * 32),
        _set("export.created_us", YEAR_9999),
        _drop("chain.checkpoints.1.time"),
        _set("format", "custodes-export-v2"),
    ):
        doc = json.loads(_edit(change))
        assert not validator.is_valid(doc)
        with pytest.raises(fmt.ManifestError):
            fmt.decode(_edit(change))


def test_the_judge_names_an_invalid_manifest_as_a_failure() -> None:
    facts = BundleFacts(_edit(_set("export.created_us", YEAR_9999)), bytes(64), {})
    verdict = judge(facts, signature_ok)
    assert verdict.outcome() is Outcome.NOT_VERIFIED
    assert [str(f) for f in verdict.findings] == [
        "manifest.json: not a valid manifest: export.created_us is not a time between 1970 "
        "and 2200 (µs since the epoch)"
    ]


# Bad bundles on the command line: a clear error, never a traceback ----------------------------


@pytest.fixture
def genuine(tmp_path: Path) -> Path:
    """A bundle directory with FIXED's manifest (not signed by anyone real)."""
    b = tmp_path / "genuine"
    b.mkdir()
    (b / fmt.MANIFEST_FILE).write_text(PINNED, encoding="utf-8")
    (b / fmt.SIGNATURE_FILE).write_bytes(bytes(64))
    return b


def _year_9999(doc: dict[str, object]) -> None:
    export = doc["export"]
    assert isinstance(export, dict)
    export["created_us"] = YEAR_9999  # with its twin, as a careful forger would write it
    export["created"] = "9999-12-31T23:59:59.000000Z"


def test_absurd_bundles_get_a_clear_error_never_a_traceback(genuine: Path, tmp_path: Path) -> None:
    cases: list[tuple[Path, int, str]] = []

    absurd = copy_bundle(genuine, tmp_path / "year-9999")
    rewrite_manifest(absurd, _year_9999)
    cases.append((absurd, 1, "export.created_us is not a time between 1970 and 2200"))

    nested = copy_bundle(genuine, tmp_path / "nested")
    (nested / fmt.MANIFEST_FILE).write_bytes(b"[" * 100_000)
    cases.append((nested, 1, "not a valid manifest: not JSON"))

    cut = copy_bundle(genuine, tmp_path / "cut")
    (cut / fmt.MANIFEST_FILE).write_text(PINNED[:1000], encoding="utf-8")
    cases.append((cut, 1, "not a valid manifest: not JSON"))

    empty = tmp_path / "empty"
    empty.mkdir()
    cases.append((empty, 1, "manifest.json: missing"))

    zipped = tmp_path / "bundle.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("b/manifest.json", PINNED)
        zf.writestr("b/clip.mp4", b"\x00" * 100_000)
    data = bytearray(zipped.read_bytes())
    where = data.index(b"clip.mp4") + 40  # inside the clip's compressed bytes
    data[where] ^= 0xFF
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(data))
    cases.append((corrupt, 2, "cannot be read"))
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(zipped.read_bytes()[: len(data) // 2])
    cases.append((truncated, 2, "neither an export directory nor a zip"))
    cases.append((tmp_path / "nowhere", 2, "no such file or directory"))

    marked = copy_bundle(genuine, tmp_path / "markup")
    rewrite_manifest(marked, _set("camera.name", "[/red] [bold"))
    (marked / "[red]x.mp4").write_bytes(b"stray")  # shown as named, not as red "x.mp4"
    cases.append((marked, 1, "camera 3 '[/red] [bold' (entrance)"))
    cases.append((marked, 1, "[red]x.mp4: in the bundle but not named by the manifest"))
    bracketed = tmp_path / "[red]"
    bracketed.mkdir()
    cases.append((bracketed / "none.zip", 2, f"{bracketed}/none.zip: no such file or directory"))
    long = tmp_path / ("a-directory-whose-name-is-longer-than-a-terminal-is-wide-" * 3)
    long.mkdir()  # the path is said whole, on one line: Rich wrapped it mid-name at 80
    cases.append((long / "none.zip", 2, f"{long}/none.zip: no such file or directory"))

    for path, status, message in cases:
        code, output = verify_cli(path)
        said = " ".join(output.split())
        assert code == status and message in said, (path.name, code, said)
        assert "Traceback" not in output

    nested_key = tmp_path / "nested-key.json"
    nested_key.write_text("[" * 100_000)
    code, output = verify_cli(genuine, "--key", str(nested_key))
    assert code == 2 and "a line is neither a hex key nor JSON" in " ".join(output.split())


def test_a_forged_bundle_writes_nothing_to_the_recipient_s_terminal(
    genuine: Path, tmp_path: Path
) -> None:
    """What a bundle says is printed inert: a forger's escape sequences (a green "verified"
    line, a terminal title), carriage returns, line breaks and bidi overrides in the manifest
    or in a file's name are shown as escapes, never acted on by the terminal."""
    forged = copy_bundle(genuine, tmp_path / "forged")
    fake = "\x1b[32mverified\x1b[0m: every file, link, checkpoint and the signature agree"

    def inject(doc: dict[str, Any]) -> None:
        doc["request"]["destination"] = f"room\n{fake}\r"
        doc["camera"]["place"] = "gate\x1b]0;pwned\x07"
        doc["camera"]["name"] = "cam\u202e4pm.exe"  # reads backwards after the override

    rewrite_manifest(forged, inject)
    (forged / "x\x1b[2K\x1b[1Astray.mp4").write_bytes(b"stray")  # erases the line above
    code, output = verify_cli(forged)
    assert code == 1, output
    for acting in ("\x1b", "\r", "\x07", "\u202e"):
        assert acting not in output, (acting, output)
    assert not any(line.startswith("verified") for line in output.splitlines()), output
    assert "destination: room\\n\\x1b[32mverified" in output, output
    assert "\\u202e4pm.exe" in output, output
    assert "x\\x1b[2K\\x1b[1Astray.mp4: in the bundle" in output, output
