"""Exports under copy grants: real sealed footage in, a bundle out that `custodes
verify-export` checks with nothing but the bundle — and that fails, naming the cause, after
each kind of tampering."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select, update
from typer.testing import CliRunner

from custodes.adapters.bundle import PARTIAL_PREFIX, write_zip
from custodes.adapters.db import schema
from custodes.adapters.ffmpeg import export_clip
from custodes.adapters.ffmpeg.mp4box import children
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.clock import iso
from custodes.domain import export_format as fmt
from custodes.domain.access_rules import Action
from custodes.domain.chain import segment_link
from custodes.domain.roles import Role
from custodes.domain.timing import RunClock
from custodes.entrypoints.cli import app
from custodes.entrypoints.web.app import create_app
from custodes.services import checkpoints, exports, grants, keys, ledger, signing
from custodes.services.context import Context
from custodes.services.exports import files as export_files
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.verify_export import load_pinned_keys, verify_bundle

from .bundles import (
    SIGNER_UNKNOWN,
    assert_fabrication_fares_no_better,
    copy_bundle,
    installation_keys,
    rewrite_manifest,
    verify_cli,
)
from .grant_setup import GrantSetup, Person, approved_grant, person
from .media import ffprobe_duration, make_segments
from .sealed import CADENCE, T0, Archive, seal_archive
from .web_client import log_in as _login

SEC = 1_000_000
# seal_archive: 12 one-second segments from T0 on, checkpoints at seq 0, 4, 8 and 11
START, END = T0 + 2_500_000, T0 + 7_500_000  # segments 2..7, covered T0+2 s .. T0+8 s


@dataclass
class World:
    ctx: Context
    archive: Archive
    setup: GrantSetup

    @property
    def officer(self) -> Person:
        return self.setup.holders[0]

    def export(
        self, start: int = START, end: int = END, watermark: bool = False
    ) -> exports.ExportResult:
        o = self.officer
        grant = exports.require_grant(
            self.ctx,
            grant_id=self.setup.grant.id,
            account_id=o.account_id,
            username=o.username,
            camera_id=self.archive.cam,
            start_us=start,
            end_us=end,
        )
        return exports.create_export(
            self.ctx,
            grant=grant,
            account_id=o.account_id,
            username=o.username,
            camera_id=self.archive.cam,
            start_us=start,
            end_us=end,
            watermark=watermark,
        )


def _world(ctx: Context, action: Action = Action.COPY) -> World:
    archive = seal_archive(ctx)
    setup = approved_grant(
        ctx, camera_ids=[archive.cam], start_us=T0 - 60 * SEC, end_us=T0 + 60 * SEC, action=action
    )
    return World(ctx, archive, setup)


@pytest.fixture
def world(ctx: Context) -> World:
    """A copy grant: the clip and the manifest leave, not the original files."""
    return _world(ctx)


@pytest.fixture
def world_orig(ctx: Context) -> World:
    """A retrieve-original grant: the bundle also holds segments/."""
    return _world(ctx, Action.RETRIEVE_ORIGINAL)


def _failures(bundle: Path, pinned: list[str] | None = None) -> list[str]:
    return [str(f) for f in verify_bundle(bundle, pinned=pinned).findings if f.failure]


def _segments(doc: dict[str, object]) -> list[dict[str, object]]:
    found = doc["segments"]
    assert isinstance(found, list)
    return found


# A fresh export ------------------------------------------------------------------------------


def test_a_fresh_export_verifies_plays_and_is_on_record(world: World, tmp_path: Path) -> None:
    ctx = world.ctx
    r = world.export()
    assert (r.covered_start_us, r.covered_end_us, r.segments) == (T0 + 2 * SEC, T0 + 8 * SEC, 6)
    assert r.path == ctx.data.exports / r.id and r.path.is_dir()
    names = sorted(p.relative_to(r.path).as_posix() for p in r.path.rglob("*") if p.is_file())
    assert names == ["clip.mp4", "manifest.json", "manifest.sig"]  # a copy: no originals
    assert not [p for p in ctx.data.exports.iterdir() if p.name.startswith(".")]

    code, output = verify_cli(r.path)
    assert code == SIGNER_UNKNOWN, output  # consistent, but nothing proves who made it
    assert "SIGNER UNKNOWN" in output and "NOT VERIFIED" not in output
    assert "archive/public-keys.jsonl" in output and "custodes keys export" in output
    assert "verified:" not in output and "verified with" not in output
    code, output = verify_cli(r.path, "--key", str(installation_keys(ctx)), "--strict")
    assert code == 0, output
    assert "verified: every file" in output and "UNKNOWN" not in output
    code, output = verify_cli(r.path, "--json", "--key", str(installation_keys(ctx)))
    assert code == 0, output
    report = json.loads(output)
    assert report["ok"] and report["pinned"] and report["warnings"] == []
    assert report["status"] == "verified" and report["signer"] == "pinned"
    assert report["exit_status"] == 0 and "advice" not in report
    assert report["signed_through_seq"] == 7 and report["segments"] == 6

    # the clip: stream copy, moov before mdat (+faststart), the covered range's duration
    clip = r.path / fmt.CLIP_FILE
    head = [kind for kind, _, _ in children(clip.read_bytes()[:4096], truncated=True)]
    assert head[:2] == [b"ftyp", b"moov"], head
    assert abs(ffprobe_duration(clip) - 6.0) <= 0.08  # two frames at 25 fps
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", clip],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == ["h264"]
    # the clip is what the same ffmpeg makes from the sealed files (bit-exact: whoever holds
    # the originals can redo it)
    redo = tmp_path / "redo.mp4"
    files = [(world.archive.path(s), SEC) for s in range(2, 8)]
    listing = tmp_path / "list.ffconcat"
    listing.write_text(export_clip.concat_list(files))
    subprocess.run(export_clip.clip_command(listing, redo), check=True, capture_output=True)
    assert redo.read_bytes() == clip.read_bytes()

    manifest = fmt.decode((r.path / fmt.MANIFEST_FILE).read_bytes())
    assert hashlib.sha256((r.path / fmt.MANIFEST_FILE).read_bytes()).hexdigest() == (
        r.manifest_sha256
    )
    assert [s.seq for s in manifest.segments] == list(range(2, 8))
    assert [a.seq for a in manifest.chain.anchors] == [1]
    assert [c.seq for c in manifest.chain.after] == [8]  # up to the closing checkpoint
    assert [c.seq for c in manifest.chain.checkpoints] == [0, 4, 8]
    assert manifest.chain.unsigned_tail is None and manifest.watermarked is None
    assert manifest.originals_included is False
    assert all(s.file is None for s in manifest.segments)
    assert [s.sha256 for s in manifest.segments] == [
        hashlib.sha256(world.archive.path(s).read_bytes()).hexdigest() for s in range(2, 8)
    ]
    assert manifest.grant.id == world.setup.grant.id and manifest.grant.action == "copy"
    assert manifest.request.id == world.setup.request_id
    assert {p.username for p in manifest.request.staff} == {h.username for h in world.setup.holders}
    assert all(p.work_id for p in manifest.request.staff)
    assert manifest.export.exporter.username == world.officer.username
    assert manifest.request.destination and manifest.request.purpose
    assert (manifest.camera.name, manifest.requested) == (
        "gate",
        fmt.TimeRange(start_us=START, end_us=END),
    )

    with ctx.engine.connect() as conn:
        row = conn.execute(select(schema.exports)).one()
        entry = conn.execute(
            select(schema.ledger).where(schema.ledger.c.action == ledger.EXPORT_CREATED)
        ).one()
    assert (row.id, row.segments, row.manifest_sha256) == (r.id, 6, r.manifest_sha256)
    assert entry.actor == f"account:{world.officer.username}"
    assert entry.object == f"export:{r.id}"
    details = json.loads(entry.details)
    assert details["request"] == world.setup.request_id
    assert details["grant"] == world.setup.grant.id
    assert details["export"] == r.id and details["segments"] == 6
    assert (details["covered_start_us"], details["covered_end_us"]) == (T0 + 2 * SEC, T0 + 8 * SEC)
    assert details["manifest_sha256"] == r.manifest_sha256 and details["destination"]
    assert details["originals_included"] is False
    assert (details["closing_checkpoint"], details["checkpoint_signed"]) == (8, False)


def test_exports_are_listed_by_grant_and_by_maker_and_the_list_is_bounded(world: World) -> None:
    """The grant page lists the grant's exports from here, so a link outlives the page."""
    made = {world.export().id, world.export().id}
    grant = world.setup.grant.id
    assert {e.id for e in exports.list_exports(world.ctx, grant_id=grant)} == made
    mine = exports.list_exports(world.ctx, account_id=world.officer.account_id, grant_id=grant)
    assert {e.id for e in mine} == made
    other = world.setup.holders[1].account_id
    assert exports.list_exports(world.ctx, account_id=other, grant_id=grant) == []
    assert exports.list_exports(world.ctx, grant_id=grant + 1) == []
    assert len(exports.list_exports(world.ctx, grant_id=grant, limit=1)) == 1


def test_the_watermarked_copy_is_reencoded_and_marked_not_evidence(world: World) -> None:
    r = world.export(watermark=True)
    manifest = fmt.decode((r.path / fmt.MANIFEST_FILE).read_bytes())
    assert manifest.watermarked is not None and manifest.watermarked.evidence is False
    assert manifest.clip.evidence is True
    wm = r.path / fmt.WATERMARKED_FILE
    assert manifest.watermarked.sha256 == hashlib.sha256(wm.read_bytes()).hexdigest()
    assert abs(ffprobe_duration(wm) - 6.0) <= 0.08
    assert verify_cli(r.path, "--key", str(installation_keys(world.ctx)))[0] == 0
    wm.chmod(0o644)
    with wm.open("r+b") as f:
        f.seek(wm.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 1]))
    assert _failures(r.path) == [
        "clip-watermarked.mp4 (re-encoded viewing copy): sha256 differs from the manifest "
        f"(clip-watermarked.mp4: {wm.stat().st_size} bytes, manifest {manifest.watermarked.bytes})"
    ]


def test_watermark_text_fits_and_picks_a_chinese_font() -> None:
    request = fmt.RequestInfo(
        id=1,
        organisation=fmt.OrganisationInfo(id=1, name="市公安局", kind="public-security"),
        basis="law-enforcement",
        purpose="p",
        destination="d",
        destination_abroad=False,
        jurisdiction="jilin",
        psb_approval_ref=None,
        judicial_approval_ref=None,
        staff=(),
    )
    text = exports.watermark_text(request, 3, "X", "officer", T0)
    assert "NOT EVIDENCE" in text and "grant 3" in text and iso(T0) in text
    assert export_clip.pick_font(text).name == "wqy-zenhei.ttc"
    assert export_clip.pick_font("grant 3").name == "DejaVuSans.ttf"
    assert 8 <= export_clip.font_size(text, 1920, 1080) <= 1080 // 18


def test_the_minimal_probe_changes_no_byte_of_the_clip(tmp_path: Path) -> None:
    """The clip's concat list opens each segment without decoding frames (four times faster
    over an hour); with B-frames, AAC and a change of resolution the output is the same as
    with ffmpeg's full probe."""
    seg_dir = tmp_path / "segs"
    seg_dir.mkdir()
    for size in ("320x240", "480x270"):
        subprocess.run(
            [
                "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration=4",
                "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-bf", "2",
                "-c:a", "aac", "-f", "segment", "-segment_time", "1", "-reset_timestamps", "1",
                "-segment_format", "mp4", "-segment_format_options",
                "movflags=+frag_keyframe+empty_moov+default_base_moof",
                str(seg_dir / f"{size}-%02d.mp4"),
            ],
            check=True,
        )  # fmt: skip
    files = [(p, SEC) for p in sorted(seg_dir.iterdir())]
    light = export_clip.concat_list(files)
    full = "\n".join(line for line in light.splitlines() if not line.startswith("option")) + "\n"
    outputs = []
    for name, listing in (("light", light), ("full", full)):
        (tmp_path / f"{name}.ffconcat").write_text(listing)
        out = tmp_path / f"{name}.mp4"
        subprocess.run(
            export_clip.clip_command(tmp_path / f"{name}.ffconcat", out),
            check=True,
            capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert "option codec_whitelist none" in light and outputs[0] == outputs[1]


# Tampering -----------------------------------------------------------------------------------


@pytest.fixture
def bundle(world: World) -> Path:
    return world.export().path


@pytest.fixture
def orig_bundle(world_orig: World) -> Path:
    return world_orig.export().path


def test_a_flipped_byte_in_the_clip_is_named(bundle: Path, tmp_path: Path) -> None:
    b = copy_bundle(bundle, tmp_path / "b")
    clip = b / fmt.CLIP_FILE
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x01
    clip.write_bytes(bytes(data))
    assert [f.split(" (")[0] for f in _failures(b)] == [
        "clip.mp4: sha256 differs from the manifest"
    ]
    code, output = verify_cli(b)
    assert code == 1 and "clip.mp4: sha256 differs from the manifest" in output


def test_an_edited_segment_digest_breaks_the_signature_and_the_chain(
    bundle: Path, tmp_path: Path
) -> None:
    b = copy_bundle(bundle, tmp_path / "b")

    def edit(doc: dict[str, object]) -> None:
        _segments(doc)[1]["sha256"] = "00" * 32  # segment 3

    rewrite_manifest(b, edit)
    found = _failures(b)
    assert any(f.startswith("manifest.sig: manifest signature invalid") for f in found), found
    assert "segment 3: its digest, times or size in the manifest do not give its chain link " in (
        "\n".join(found)
    )


def test_an_attacker_who_resigns_with_their_own_key_is_caught(
    orig_bundle: Path, tmp_path: Path
) -> None:
    """Swap a segment, fix its digest and every link after it, sign with a key of their own
    and put that key in the manifest: the signed checkpoints still name the installation's
    key and links the chain no longer reaches."""
    b = copy_bundle(orig_bundle, tmp_path / "b")
    target = b / fmt.segment_file(3)
    forged = target.read_bytes() + b"\x00forged"
    target.write_bytes(forged)
    attacker = signing.signer_from_key(Ed25519PrivateKey.generate())

    def forge(doc: dict[str, object]) -> None:
        segs = _segments(doc)
        segs[1]["sha256"] = hashlib.sha256(forged).hexdigest()
        segs[1]["bytes"] = len(forged)
        chain = doc["chain"]
        assert isinstance(chain, dict)
        prev = bytes.fromhex(chain["anchors"][0]["link"])
        for row in [*segs, *chain["after"]]:
            link = segment_link(
                prev, 1, row["seq"], row["start_us"], row["end_us"], row["bytes"], row["sha256"]
            )
            prev = link
            row["link"] = link.hex()
        keys_ = doc["keys"]
        assert isinstance(keys_, list)
        keys_.append(
            {
                "key_id": attacker.key_id,
                "public_key": attacker.public_hex,
                "created_us": T0,
                "retired_us": None,
                "endorsed_by": None,
                "endorsement": None,
            }
        )
        doc["signer"] = {"key_id": attacker.key_id, "public_key": attacker.public_hex}

    raw = rewrite_manifest(b, forge)
    (b / fmt.SIGNATURE_FILE).write_bytes(bytes.fromhex(attacker.sign(raw)))
    found = "\n".join(_failures(b))
    assert "checkpoint 4: the chain recomputed from the manifest does not reach" in found
    assert f"manifest.sig: the manifest is signed by key {attacker.key_id}, which signed none" in (
        found
    )
    code, output = verify_cli(b)
    assert code == 1 and attacker.key_id in output


def test_a_bundle_fabricated_with_a_new_key_never_fares_better_than_the_genuine_one(
    world: World, bundle: Path, tmp_path: Path
) -> None:
    assert_fabrication_fares_no_better(bundle, installation_keys(world.ctx), tmp_path)


def test_a_replaced_signature_is_named(bundle: Path, tmp_path: Path) -> None:
    b = copy_bundle(bundle, tmp_path / "b")
    (b / fmt.SIGNATURE_FILE).write_bytes(bytes(64))
    assert [f.split(":")[0] + ":" + f.split(":")[1] for f in _failures(b)] == [
        "manifest.sig: manifest signature invalid under key "
        + fmt.decode((b / fmt.MANIFEST_FILE).read_bytes()).signer.key_id
    ]
    (b / fmt.SIGNATURE_FILE).unlink()
    assert _failures(b) == ["manifest.sig: missing: the manifest is not signed"]


def test_a_manifest_signed_with_another_key_is_named(bundle: Path, tmp_path: Path) -> None:
    b = copy_bundle(bundle, tmp_path / "b")
    other = Ed25519PrivateKey.generate()
    (b / fmt.SIGNATURE_FILE).write_bytes(other.sign((b / fmt.MANIFEST_FILE).read_bytes()))
    found = _failures(b)
    assert len(found) == 1 and found[0].startswith("manifest.sig: manifest signature invalid")
    code, output = verify_cli(b)
    assert code == 1 and "manifest signature invalid" in output


def test_a_missing_segment_file_is_named(orig_bundle: Path, tmp_path: Path) -> None:
    b = copy_bundle(orig_bundle, tmp_path / "b")
    (b / fmt.segment_file(5)).unlink()
    assert _failures(b) == [f"segment 5: missing ({fmt.segment_file(5)})"]
    code, output = verify_cli(b)
    assert code == 1 and "segment 5: missing" in output


def test_a_stray_file_is_a_warning_and_strict_fails_it(
    ctx: Context, bundle: Path, tmp_path: Path
) -> None:
    b = copy_bundle(bundle, tmp_path / "b")
    (b / "clip-real.mp4").write_bytes(b"not evidence")
    verdict = verify_bundle(b)
    assert not verdict.failed
    assert [str(w).split(":")[0] for w in verdict.warnings] == ["clip-real.mp4"]
    assert verify_cli(b, "--key", str(installation_keys(ctx)))[0] == 0
    assert verify_cli(b)[0] == SIGNER_UNKNOWN
    assert verify_cli(b, "--strict")[0] == 1
    assert verify_cli(b, "--key", str(installation_keys(ctx)), "--strict")[0] == 1


def test_a_pinned_key_of_another_installation_fails(bundle: Path, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "other.pem").write_bytes(pem)
    code, output = verify_cli(bundle, "--key", str(tmp_path / "other.pem"))
    assert code == 1 and "neither a pinned key" in output
    raw = other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    (tmp_path / "other.hex").write_text(raw.hex() + "\n")
    assert load_pinned_keys(tmp_path / "other.hex") == [raw.hex()]


# What a grant lets out: its range only; the originals only under retrieve-original ------------


def _grant_world(ctx: Context, start_us: int, end_us: int, action: Action = Action.COPY) -> World:
    archive = seal_archive(ctx)
    setup = approved_grant(
        ctx, camera_ids=[archive.cam], start_us=start_us, end_us=end_us, action=action
    )
    return World(ctx, archive, setup)


def test_no_footage_outside_the_grant_leaves(ctx: Context) -> None:
    """A grant from the middle of segment 2 to the middle of segment 7: the segments that
    overlap its edges stay home; the covered range says exactly what left."""
    g_start, g_end = T0 + 2_500_000, T0 + 7_500_000
    w = _grant_world(ctx, g_start, g_end)
    r = w.export(g_start, g_end)
    manifest = fmt.decode((r.path / fmt.MANIFEST_FILE).read_bytes())
    assert [s.seq for s in manifest.segments] == [3, 4, 5, 6]
    assert manifest.segments[0].start_us >= g_start and manifest.segments[-1].end_us <= g_end
    assert (r.covered_start_us, r.covered_end_us) == (T0 + 3 * SEC, T0 + 7 * SEC)
    assert (manifest.covered.start_us, manifest.covered.end_us) == (T0 + 3 * SEC, T0 + 7 * SEC)
    assert abs(ffprobe_duration(r.path / fmt.CLIP_FILE) - 4.0) <= 0.08
    assert _failures(r.path) == []
    # within the grant, whole segments overlapping the request still go (cut at keyframes)
    r2 = w.export(T0 + 3_200_000, T0 + 4_100_000)
    assert (r2.covered_start_us, r2.covered_end_us) == (T0 + 3 * SEC, T0 + 5 * SEC)
    # nothing wholly inside the grant: the usual "nothing recorded"
    narrow_grant = approved_grant(
        ctx, camera_ids=[w.archive.cam], start_us=T0 + 2_200_000, end_us=T0 + 2_800_000
    )
    narrow = World(ctx, w.archive, narrow_grant)
    with pytest.raises(exports.NothingRecorded, match="nothing recorded by camera"):
        narrow.export(T0 + 2_200_000, T0 + 2_800_000)


def test_a_covered_range_beyond_the_grant_is_named(bundle: Path, tmp_path: Path) -> None:
    b = copy_bundle(bundle, tmp_path / "b")
    doc = json.loads((b / fmt.MANIFEST_FILE).read_bytes())
    grant_id = doc["grant"]["id"]
    start = doc["covered"]["start_us"] + 1

    def narrow(d: dict[str, object]) -> None:
        g = d["grant"]
        assert isinstance(g, dict)
        g["start_us"], g["start"] = start, fmt.iso(start)  # the ISO twins must say the same
        req = d["requested"]
        assert isinstance(req, dict)
        req["start_us"] = max(req["start_us"], start)
        req["start"] = fmt.iso(req["start_us"])

    rewrite_manifest(b, narrow)
    found = _failures(b)
    assert f"manifest.json: the covered range exceeds grant {grant_id}'s range: footage " in (
        "\n".join(found)
    )


def test_a_retrieve_original_bundle_holds_the_originals(world_orig: World, tmp_path: Path) -> None:
    r = world_orig.export()
    names = sorted(p.relative_to(r.path).as_posix() for p in r.path.rglob("*") if p.is_file())
    assert names == sorted(
        ["clip.mp4", "manifest.json", "manifest.sig"] + [fmt.segment_file(s) for s in range(2, 8)]
    )
    manifest = fmt.decode((r.path / fmt.MANIFEST_FILE).read_bytes())
    assert manifest.originals_included is True and manifest.grant.action == "retrieve-original"
    assert [s.file for s in manifest.segments] == [fmt.segment_file(s) for s in range(2, 8)]
    key_file = str(installation_keys(world_orig.ctx))
    code, output = verify_cli(r.path, "--key", key_file, "--strict")
    assert code == 0 and "original segment files: included" in output, output
    # the clip is what the same ffmpeg makes from segments/
    redo, listing = tmp_path / "redo.mp4", tmp_path / "list.ffconcat"
    listing.write_text(
        export_clip.concat_list([(r.path / fmt.segment_file(s), SEC) for s in range(2, 8)])
    )
    subprocess.run(export_clip.clip_command(listing, redo), check=True, capture_output=True)
    assert redo.read_bytes() == (r.path / fmt.CLIP_FILE).read_bytes()
    # a flipped byte in one original is named
    b = copy_bundle(r.path, tmp_path / "b")
    target = b / fmt.segment_file(4)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert [f.split(" (")[0] for f in _failures(b)] == [
        "segment 4: sha256 differs from the manifest"
    ]
    code, output = verify_cli(b, "--key", key_file)
    assert code == 1 and "segment 4: sha256 differs from the manifest" in output


def test_a_copy_bundle_verifies_without_the_originals(
    world: World, bundle: Path, tmp_path: Path
) -> None:
    assert not (bundle / fmt.SEGMENTS_DIR).exists()
    key_file = str(installation_keys(world.ctx))
    code, output = verify_cli(bundle, "--key", key_file, "--strict")
    assert code == 0, output
    assert "original segment files: not included" in output
    code, output = verify_cli(bundle, "--json", "--key", key_file)
    report = json.loads(output)
    assert report["ok"] and report["originals_included"] is False
    assert report["signed_through_seq"] == 7
    doc = json.loads((bundle / fmt.MANIFEST_FILE).read_bytes())
    assert doc["originals_included"] is False
    assert all(s["file"] is None for s in doc["segments"])


def _resign(b: Path, attacker: signing.Signer, change: Callable[[dict[str, object]], None]) -> None:
    """Change the manifest, put the attacker's key in it and sign it with that key."""

    def forge(doc: dict[str, object]) -> None:
        change(doc)
        keys_ = doc["keys"]
        assert isinstance(keys_, list)
        keys_.append(
            {
                "key_id": attacker.key_id,
                "public_key": attacker.public_hex,
                "created_us": T0,
                "retired_us": None,
                "endorsed_by": None,
                "endorsement": None,
            }
        )
        doc["signer"] = {"key_id": attacker.key_id, "public_key": attacker.public_hex}

    raw = rewrite_manifest(b, forge)
    (b / fmt.SIGNATURE_FILE).write_bytes(bytes.fromhex(attacker.sign(raw)))


def test_a_removed_or_reordered_segment_entry_of_a_copy_bundle_is_named(
    bundle: Path, tmp_path: Path
) -> None:
    def drop_5(doc: dict[str, object]) -> None:
        del _segments(doc)[3]  # segment 5

    def swap(doc: dict[str, object]) -> None:
        segs = _segments(doc)
        segs[1], segs[2] = segs[2], segs[1]

    for name, change in (("drop", drop_5), ("swap", swap)):
        # not re-signed: the signature fails, and the chain names the break
        b = copy_bundle(bundle, tmp_path / f"{name}-plain")
        rewrite_manifest(b, change)
        found = "\n".join(_failures(b))
        assert "manifest.sig: manifest signature invalid" in found, found
        if name == "drop":
            assert "segment 6: no chain link before it in the manifest" in found, found
        else:
            assert "out of order in the manifest" in found, found
        # re-signed with the attacker's own key: the installation's checkpoints refuse it
        b = copy_bundle(bundle, tmp_path / f"{name}-resigned")
        attacker = signing.signer_from_key(Ed25519PrivateKey.generate())
        _resign(b, attacker, change)
        found = "\n".join(_failures(b))
        assert f"manifest.sig: the manifest is signed by key {attacker.key_id}, which signed" in (
            found
        ), found
        code, output = verify_cli(b)
        assert code == 1 and "NOT VERIFIED" in output


def test_an_edited_digest_of_a_copy_bundle_is_named_even_when_resigned(
    bundle: Path, tmp_path: Path
) -> None:
    """No originals to re-hash: the chain over the listed digests still reaches the signed
    checkpoints only with the true digests."""
    b = copy_bundle(bundle, tmp_path / "b")
    attacker = signing.signer_from_key(Ed25519PrivateKey.generate())

    def edit(doc: dict[str, object]) -> None:
        _segments(doc)[2]["sha256"] = "11" * 32  # segment 4

    _resign(b, attacker, edit)
    found = "\n".join(_failures(b))
    assert "segment 4: its digest, times or size in the manifest do not give its chain link" in (
        found
    )


# The closing checkpoint, old bundles' unsigned tail, rotation, pruning -------------------------


def _seal_more(world: World, count: int) -> int:
    """`count` more segments after seq 11 (whose checkpoint the archive has): the camera is
    still recording, and no checkpoint vouches for them yet. Returns the end of the last."""
    ctx, cam = world.ctx, world.archive.cam
    run_dir = ctx.data.camera_spool(cam) / "run2"
    clock = RunClock()
    base = world.archive.end_us(11)
    for name, a, b in make_segments(run_dir, count=count, seconds=1):
        timing = clock.place(a, b, base + int(b * 1e6))
        Sealer(ctx.engine, ctx.data, cadence=CADENCE).seal(
            SegmentClosed(cam, "run2", run_dir / name, timing, StreamInfo())
        )
    return base + count * SEC


def _checkpoint_seqs(world: World) -> tuple[list[int], list[int]]:
    """The camera's checkpoint seqs in the database and in its checkpoints.jsonl."""
    with world.ctx.engine.connect() as conn:
        rows = [c.seq for c in checkpoints.rows(conn, world.archive.cam)]
    found, bad = checkpoints.read_file(world.ctx.data, world.archive.cam)
    assert bad == []
    return rows, sorted(c.seq for c in found)


def _created_details(ctx: Context, export_id: str) -> dict[str, object]:
    with ctx.engine.connect() as conn:
        entry = conn.execute(
            select(schema.ledger.c.details).where(
                schema.ledger.c.action == ledger.EXPORT_CREATED,
                schema.ledger.c.object == f"export:{export_id}",
            )
        ).scalar_one()
    found = json.loads(entry)
    assert isinstance(found, dict)
    return found


def test_an_export_of_the_newest_footage_signs_the_checkpoint_that_closes_it(
    world: World,
) -> None:
    """Segments 12–14 follow the last checkpoint (11): the export signs one over its last
    segment (13: no row after the exported footage goes with it), and the bundle verifies
    strictly against the installation's key."""
    ctx, key_file = world.ctx, str(installation_keys(world.ctx))
    end = _seal_more(world, 3)
    assert _checkpoint_seqs(world) == ([0, 4, 8, 11], [0, 4, 8, 11])

    r = world.export(T0 + 10 * SEC + 500_000, end - SEC - 500_000)  # segments 10–13
    manifest = fmt.decode((r.path / fmt.MANIFEST_FILE).read_bytes())
    assert [s.seq for s in manifest.segments] == [10, 11, 12, 13]
    assert manifest.chain.unsigned_tail is None
    assert manifest.chain.after == ()  # signed at its last segment: nothing beyond it
    assert [c.seq for c in manifest.chain.checkpoints] == [8, 11, 13]
    assert manifest.chain.checkpoints[-1].key_id == signing.load_signer(ctx.data).key_id
    assert _checkpoint_seqs(world) == ([0, 4, 8, 11, 13], [0, 4, 8, 11, 13])  # both stores
    details = _created_details(ctx, r.id)
    assert (details["closing_checkpoint"], details["checkpoint_signed"]) == (13, True)
    code, output = verify_cli(r.path, "--strict", "--key", key_file)
    assert code == 0, output
    report = json.loads(verify_cli(r.path, "--json", "--key", key_file)[1])
    assert report["signed_through_seq"] == 13 and report["unsigned_seqs"] == []

    # the same footage again finds that checkpoint: nothing more is signed
    same = world.export(T0 + 10 * SEC + 500_000, end - SEC - 500_000)
    assert _created_details(ctx, same.id)["checkpoint_signed"] is False
    # one segment more is closed by a checkpoint of its own
    again = world.export(T0 + 10 * SEC + 500_000, end)
    manifest = fmt.decode((again.path / fmt.MANIFEST_FILE).read_bytes())
    assert [s.seq for s in manifest.segments] == [10, 11, 12, 13, 14]
    assert manifest.chain.after == () and manifest.chain.unsigned_tail is None
    assert _checkpoint_seqs(world) == ([0, 4, 8, 11, 13, 14], [0, 4, 8, 11, 13, 14])
    assert _created_details(ctx, again.id)["checkpoint_signed"] is True
    assert verify_cli(again.path, "--strict", "--key", key_file)[0] == 0


def test_a_tail_no_checkpoint_can_be_signed_over_fails_the_export_and_leaves_nothing(
    world: World,
) -> None:
    """A row after the last checkpoint that does not give its link (edited in the database):
    sign_recent refuses to sign over it, and the export that takes it is refused; footage
    before it, whose chain is whole, still exports."""
    end = _seal_more(world, 2)
    with world.ctx.engine.begin() as conn:
        conn.execute(
            update(schema.segments)
            .where(schema.segments.c.camera_id == world.archive.cam, schema.segments.c.seq == 13)
            .values(bytes=schema.segments.c.bytes + 1)
        )
    before = _checkpoint_seqs(world)
    with pytest.raises(exports.ExportError, match=r"segment 13 does not give its chain link"):
        world.export(T0 + 10 * SEC + 500_000, end)  # segments 10–13
    _nothing_left(world.ctx)
    assert _checkpoint_seqs(world) == before  # nothing was signed over the broken tail
    o = world.officer  # the command line says so, and leaves nothing either
    result = CliRunner().invoke(
        app,
        [
            "export",
            "--data",
            str(world.ctx.data.root),
            "--camera",
            "gate",
            "--as",
            o.username,
            "--password",
            o.password,
            "--grant",
            str(world.setup.grant.id),
            "--from",
            iso(T0 + 10 * SEC + 500_000),
            "--to",
            iso(end),
            "--out",
            str(world.ctx.data.root / "out"),
        ],
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "no checkpoint can be signed" in said, said
    assert "segment 13 does not give its chain link" in said and "custodes verify" in said
    _nothing_left(world.ctx)
    ok = world.export(T0 + 10 * SEC + 500_000, end - SEC - 500_000)  # 10–12: a whole chain
    assert _created_details(world.ctx, ok.id)["closing_checkpoint"] == 12


def _as_old_bundle(world: World, bundle: Path, dest: Path, tail: tuple[int, int] | None) -> Path:
    """What an export made before exports signed their closing checkpoint looks like: the
    last checkpoint dropped, the tail declared (or not), signed by the installation's key."""
    b = copy_bundle(bundle, dest)
    closing = fmt.decode((bundle / fmt.MANIFEST_FILE).read_bytes()).chain.checkpoints[-1].seq

    def age(doc: dict[str, object]) -> None:
        chain = doc["chain"]
        assert isinstance(chain, dict)
        chain["checkpoints"] = [c for c in chain["checkpoints"] if c["seq"] != closing]
        chain["after"] = []
        chain["unsigned_tail"] = (
            None
            if tail is None
            else {"first_seq": tail[0], "last_seq": tail[1], "reason": "still recording"}
        )

    raw = rewrite_manifest(b, age)
    signer = signing.load_signer(world.ctx.data)
    (b / fmt.SIGNATURE_FILE).write_bytes(bytes.fromhex(signer.sign(raw)))
    return b


def test_an_old_bundle_with_a_declared_unsigned_tail_is_a_warning_not_a_pass_as_signed(
    world: World, tmp_path: Path
) -> None:
    """Bundles made before the export signed its closing checkpoint declare their unsigned
    tail: still a warning (strict fails it), and undeclared a failure."""
    end = _seal_more(world, 2)
    r = world.export(T0 + 10 * SEC + 500_000, end)  # segments 10–13, closed at 13
    old = _as_old_bundle(world, r.path, tmp_path / "old", (12, 13))
    key_file = installation_keys(world.ctx)
    verdict = verify_bundle(old, pinned=load_pinned_keys(key_file))
    assert not verdict.failed and verdict.signed_through_seq == 11
    assert verdict.unsigned_seqs == [12, 13]
    assert [str(w).split(":")[0] for w in verdict.warnings] == ["segments 12–13"]
    code, output = verify_cli(old, "--key", str(key_file))
    assert code == 0 and "unsigned tail" in output and "verified with 1 warning" in output
    assert verify_cli(old, "--key", str(key_file), "--strict")[0] == 1
    code, output = verify_cli(old)
    assert code == SIGNER_UNKNOWN and "(1 warning(s))" in output
    assert verify_cli(old, "--strict")[0] == 1

    undeclared = _as_old_bundle(world, r.path, tmp_path / "undeclared", None)
    found = _failures(undeclared, load_pinned_keys(key_file))
    assert found == ["segments 12–13: no signed checkpoint vouches for them"]


def test_a_key_rotated_since_recording_still_verifies(world: World) -> None:
    """Checkpoints signed by the old key, the manifest by the new one it endorsed."""
    old, new = keys.rotate(world.ctx, actor="test")
    r = world.export()
    verdict = verify_bundle(r.path)
    assert not verdict.failed, [str(f) for f in verdict.findings]
    assert verdict.signer_key_id == new and verdict.checkpoint_key_ids == [old]
    old_public = {k.key_id: k.public_key for k in keys.export(world.ctx)}[old]
    assert not verify_bundle(r.path, pinned=[old_public]).failed  # old key endorses the new
    assert verify_cli(r.path, "--key", str(installation_keys(world.ctx)))[0] == 0
    published = world.ctx.data.root / "keys-export.json"  # what `custodes keys export` prints
    published.write_text(json.dumps([k.__dict__ for k in keys.export(world.ctx)]))
    assert sorted(load_pinned_keys(published)) == sorted(
        k.public_key for k in keys.export(world.ctx)
    )
    assert verify_cli(r.path, "--key", str(published))[0] == 0
    new_public = {k.key_id: k.public_key for k in keys.export(world.ctx)}[new]
    only_new = verify_bundle(r.path, pinned=[new_public])  # the old key's checkpoints: not
    assert [str(f).split(":")[0] for f in only_new.findings] == [f"key {old}"]


def test_the_endorsement_message_is_the_one_rotation_signs() -> None:
    public = "ab" * 32
    assert fmt.endorsement_message("0123456789abcdef", public) == keys.endorsement_message(
        "0123456789abcdef", public
    )


# Refusals -----------------------------------------------------------------------------------


def _count(ctx: Context, table: Table) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _export_entries(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(schema.ledger)
                .where(schema.ledger.c.action == ledger.EXPORT_CREATED)
            ).scalar_one()
        )


def _nothing_left(ctx: Context) -> None:
    assert _count(ctx, schema.exports) == 0 and _export_entries(ctx) == 0
    assert not ctx.data.exports.exists() or list(ctx.data.exports.iterdir()) == []


def test_a_view_only_grant_exports_nothing(ctx: Context) -> None:
    archive = seal_archive(ctx)
    setup = approved_grant(
        ctx,
        camera_ids=[archive.cam],
        start_us=T0 - 60 * SEC,
        end_us=T0 + 60 * SEC,
        action=Action.VIEW,
    )
    o = setup.holders[0]
    with pytest.raises(grants.NoGrant, match="no live grant of yours allows copy"):
        exports.require_grant(
            ctx,
            grant_id=setup.grant.id,
            account_id=o.account_id,
            username=o.username,
            camera_id=archive.cam,
            start_us=START,
            end_us=END,
        )
    with pytest.raises(grants.NoGrant, match="not a copy"):
        exports.create_export(
            ctx,
            grant=setup.grant,
            account_id=o.account_id,
            username=o.username,
            camera_id=archive.cam,
            start_us=START,
            end_us=END,
        )
    _nothing_left(ctx)


def test_a_range_outside_the_grant_is_refused(world: World) -> None:
    o = world.officer
    late = T0 + 59 * SEC, T0 + 61 * SEC
    with pytest.raises(grants.NoGrant):
        exports.require_grant(
            world.ctx,
            grant_id=world.setup.grant.id,
            account_id=o.account_id,
            username=o.username,
            camera_id=world.archive.cam,
            start_us=late[0],
            end_us=late[1],
        )
    with pytest.raises(grants.NoGrant, match="does not cover"):
        exports.create_export(
            world.ctx,
            grant=world.setup.grant,
            account_id=o.account_id,
            username=o.username,
            camera_id=world.archive.cam,
            start_us=late[0],
            end_us=late[1],
        )
    with world.ctx.engine.connect() as conn:
        denied = conn.execute(
            select(func.count())
            .select_from(schema.ledger)
            .where(schema.ledger.c.action == ledger.ACCESS_DENIED)
        ).scalar_one()
    assert denied >= 1
    _nothing_left(world.ctx)


def test_an_account_not_holding_the_grant_is_refused(world: World) -> None:
    stranger = person(world.ctx, Role.DUTY_OPERATOR)
    with pytest.raises(grants.NoGrant):
        exports.require_grant(
            world.ctx,
            grant_id=world.setup.grant.id,
            account_id=stranger.account_id,
            username=stranger.username,
            camera_id=world.archive.cam,
            start_us=START,
            end_us=END,
        )
    with pytest.raises(grants.NoGrant, match="not a live copy grant of yours"):
        exports.create_export(
            world.ctx,
            grant=world.setup.grant,
            account_id=stranger.account_id,
            username=stranger.username,
            camera_id=world.archive.cam,
            start_us=START,
            end_us=END,
        )
    _nothing_left(world.ctx)


def test_nothing_recorded_is_a_clear_error_and_leaves_nothing(world: World) -> None:
    with pytest.raises(exports.NothingRecorded, match="nothing recorded by camera"):
        world.export(T0 + 30 * SEC, T0 + 40 * SEC)
    _nothing_left(world.ctx)


def test_a_failure_midway_leaves_no_bundle(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_clip, "FFMPEG", "/bin/false")
    with pytest.raises(exports.ExportError, match=r"ffmpeg could not make clip\.mp4"):
        world.export()
    _nothing_left(world.ctx)


def test_an_altered_archive_is_not_exported(world: World) -> None:
    target = world.archive.path(4)
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(exports.ExportError, match=r"segment 4 .* does not match its index"):
        world.export()
    _nothing_left(world.ctx)


def test_a_grant_revoked_meanwhile_leaves_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = export_files.make_clip

    def and_revoke(files: list[tuple[Path, int]], work: Path, *rest: Any) -> fmt.FileInfo:
        with world.ctx.engine.begin() as conn:
            conn.execute(
                update(schema.grants)
                .where(schema.grants.c.id == world.setup.grant.id)
                .values(revoked_us=world.ctx.clock(), revoked_by=world.setup.manager.account_id)
            )
        return real(files, work, *rest)

    monkeypatch.setattr(export_files, "make_clip", and_revoke)
    with pytest.raises(grants.NoGrant, match="revoked"):
        world.export()
    _nothing_left(world.ctx)


def test_a_stale_partial_bundle_is_removed(world: World) -> None:
    stale = world.ctx.data.exports / f"{PARTIAL_PREFIX}X-999999999"
    (stale / "segments").mkdir(parents=True)
    world.export()
    assert not stale.exists()


# Downloads and the command line ----------------------------------------------------------------


def test_the_zip_verifies_and_its_download_is_on_record(world: World, tmp_path: Path) -> None:
    r = world.export()
    z = tmp_path / "bundle.zip"
    write_zip(r.path, z)
    with zipfile.ZipFile(z) as zf:
        assert zf.testzip() is None
        assert f"{r.id}/manifest.json" in zf.namelist()
    assert verify_cli(z, "--key", str(installation_keys(world.ctx)))[0] == 0
    exports.record_download(world.ctx, r, username=world.officer.username, via="test")
    with world.ctx.engine.connect() as conn:
        entry = conn.execute(
            select(schema.ledger).where(schema.ledger.c.action == ledger.EXPORT_DOWNLOADED)
        ).one()
    details = json.loads(entry.details)
    assert (details["export"], details["grant"], details["request"]) == (
        r.id,
        world.setup.grant.id,
        world.setup.request_id,
    )


def test_a_zip_made_by_another_tool_verifies(world: World, tmp_path: Path) -> None:
    """Zip tools that store no Unix file type for an entry (Python's writestr, some
    archivers) are read like ours: their files are regular files, not links or devices."""
    r = world.export()
    z = tmp_path / "rezipped.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(r.path.rglob("*")):
            if p.is_file():
                zf.writestr(p.relative_to(r.path).as_posix(), p.read_bytes())
    code, output = verify_cli(z, "--strict", "--key", str(installation_keys(world.ctx)))
    assert code == 0, output


def test_the_cli_exports_as_a_named_account(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    o = world.officer
    monkeypatch.setenv("CUSTODES_PASSWORD", o.password)
    base = ["export", "--data", str(world.ctx.data.root), "--camera", "gate", "--as", o.username]
    span = ["--from", iso(START), "--to", iso(END)]
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, [*base, "--grant", str(world.setup.grant.id), *span, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    key_file = str(installation_keys(world.ctx))
    assert verify_cli(out, "--key", key_file)[0] == 0
    result = CliRunner().invoke(
        app,
        [*base, "--grant", str(world.setup.grant.id), *span, "--out", str(tmp_path / "o.zip")],
    )
    assert result.exit_code == 0, result.output
    assert verify_cli(tmp_path / "o.zip", "--key", key_file)[0] == 0
    wrong = CliRunner().invoke(
        app, [*base, "--grant", str(world.setup.grant.id + 99), *span, "--out", str(tmp_path / "x")]
    )
    assert wrong.exit_code == 1 and "does not allow you a copy" in wrong.output
    monkeypatch.setenv("CUSTODES_PASSWORD", "wrong")
    bad = CliRunner().invoke(
        app, [*base, "--grant", str(world.setup.grant.id), *span, "--out", str(tmp_path / "y")]
    )
    assert bad.exit_code == 2 and "wrong user" in bad.output
    assert _count(world.ctx, schema.exports) == 2


def test_verify_export_needs_no_database(ctx: Context, bundle: Path, tmp_path: Path) -> None:
    """Copied away from the data directory, with no CUSTODES_DATA: a recipient's machine,
    holding the installation's published keys it was given apart from the bundle."""
    alone = copy_bundle(bundle, tmp_path / "elsewhere")
    published = tmp_path / "published-keys.jsonl"
    shutil.copyfile(installation_keys(ctx), published)
    command = [str(Path(sys.executable).parent / "custodes"), "verify-export", str(alone)]
    result = subprocess.run(
        [*command, "--strict", "--key", str(published)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "custodes-data").exists()


# HTTP -----------------------------------------------------------------------------------------


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.ctx)) as c:
        yield c


def _body(world: World, **kw: object) -> dict[str, object]:
    return {
        "grant_id": world.setup.grant.id,
        "camera_id": world.archive.cam,
        "start": iso(START),
        "end": iso(END),
        "watermark": False,
        **kw,
    }


def test_http_routes_need_a_session(client: TestClient) -> None:
    for method, path in [
        ("POST", "/api/v1/exports"),
        ("GET", "/api/v1/exports"),
        ("GET", "/api/v1/exports/x"),
        ("GET", "/api/v1/exports/x/download"),
        ("GET", "/api/v1/exports/x/clip.mp4"),
    ]:
        assert client.request(method, path).status_code == 401, (method, path)


def test_http_export_download_and_clip(world: World, client: TestClient, tmp_path: Path) -> None:
    officer, other = world.setup.holders
    _login(client, officer)
    res = client.post("/api/v1/exports", json=_body(world))
    assert res.status_code == 201, res.text
    made = res.json()
    assert (made["covered_start_us"], made["covered_end_us"]) == (T0 + 2 * SEC, T0 + 8 * SEC)
    assert made["segments"] == 6 and len(made["manifest_sha256"]) == 64
    eid = made["id"]
    assert [e["id"] for e in client.get("/api/v1/exports").json()] == [eid]
    assert (
        client.get(f"/api/v1/exports/{eid}").json()["manifest_sha256"] == (made["manifest_sha256"])
    )

    res = client.get(f"/api/v1/exports/{eid}/download")
    assert res.status_code == 200 and res.headers["content-type"] == "application/zip"
    (tmp_path / "d.zip").write_bytes(res.content)
    assert verify_cli(tmp_path / "d.zip", "--key", str(installation_keys(world.ctx)))[0] == 0
    with zipfile.ZipFile(io.BytesIO(res.content)) as zf:
        assert f"custodes-export-{eid}/clip.mp4" in zf.namelist()

    clip = client.get(f"/api/v1/exports/{eid}/clip.mp4")
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    assert clip.content == (world.ctx.data.exports / eid / fmt.CLIP_FILE).read_bytes()
    part = client.get(f"/api/v1/exports/{eid}/clip.mp4", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    with world.ctx.engine.connect() as conn:
        actions = [
            r.action
            for r in conn.execute(
                select(schema.ledger.c.action).where(schema.ledger.c.object == f"export:{eid}")
            )
        ]
    assert actions == [ledger.EXPORT_CREATED, ledger.EXPORT_DOWNLOADED, ledger.MEDIA_VIEWED]

    # the other officer (no register rights): the same 404 as for an export that is not there
    _login(client, other)
    assert client.get(f"/api/v1/exports/{eid}").status_code == 404
    assert client.get("/api/v1/exports/nope").status_code == 404
    assert client.get(f"/api/v1/exports/{eid}/download").status_code == 404
    assert client.get("/api/v1/exports").json() == []
    # the security manager reads the register: metadata yes, footage only with a grant
    _login(client, world.setup.manager)
    assert client.get(f"/api/v1/exports/{eid}").status_code == 200
    assert [e["id"] for e in client.get("/api/v1/exports").json()] == [eid]
    denied = client.get(f"/api/v1/exports/{eid}/download")
    assert denied.status_code == 403 and "请提交调取申请" in denied.json()["detail"]  # zh: default


def test_http_refusals(world: World, client: TestClient, ctx: Context) -> None:
    _login(client, world.officer)
    outside = client.post("/api/v1/exports", json=_body(world, end=iso(T0 + 120 * SEC)))
    assert outside.status_code == 403 and "请提交调取申请" in outside.json()["detail"]
    empty = client.post(
        "/api/v1/exports",
        json=_body(world, start=iso(T0 + 30 * SEC), end=iso(T0 + 40 * SEC)),
    )
    said = empty.json()["detail"]
    assert empty.status_code == 404 and "没有录像" in said and "Z" not in said, said  # site time
    backwards = client.post("/api/v1/exports", json=_body(world, start=iso(END), end=iso(START)))
    assert backwards.status_code == 422
    view = approved_grant(
        ctx,
        camera_ids=[world.archive.cam],
        start_us=T0 - 60 * SEC,
        end_us=T0 + 60 * SEC,
        action=Action.VIEW,
    )
    _login(client, view.holders[0])
    res = client.post("/api/v1/exports", json=_body(world, grant_id=view.grant.id))
    assert res.status_code == 403
    assert _count(ctx, schema.exports) == 0


def test_every_clip_viewing_is_on_record_whatever_its_range(
    world: World, client: TestClient
) -> None:
    """A player's range requests make one entry per session; a first request from byte 1 is
    recorded too (it used to escape: only a range from byte 0 counted)."""
    officer = world.officer
    _login(client, officer)
    eid = client.post("/api/v1/exports", json=_body(world)).json()["id"]

    def viewed() -> int:
        with world.ctx.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(schema.ledger)
                    .where(
                        schema.ledger.c.object == f"export:{eid}",
                        schema.ledger.c.action == ledger.MEDIA_VIEWED,
                    )
                ).scalar_one()
            )

    res = client.get(f"/api/v1/exports/{eid}/clip.mp4", headers={"Range": "bytes=1-"})
    assert res.status_code == 206
    assert viewed() == 1
    for rng in ("bytes=0-", "bytes=100-199", "bytes=5-9"):
        assert client.get(f"/api/v1/exports/{eid}/clip.mp4", headers={"Range": rng}).is_success
    assert viewed() == 1  # one playback, one entry
    _login(client, officer)  # a new session: a new viewing, whatever its range
    res = client.get(f"/api/v1/exports/{eid}/clip.mp4", headers={"Range": "bytes=500-"})
    assert res.status_code == 206 and viewed() == 2
