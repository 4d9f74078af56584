"""Tamper evidence: `custodes verify` on real sealed files, after each kind of tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, text, update
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.domain.camera import CameraSpec
from custodes.domain.chain import segment_link
from custodes.domain.timing import RunClock
from custodes.entrypoints.cli import app
from custodes.services import cameras as svc
from custodes.services import checkpoints, signing
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.sweep import finish_pending
from custodes.services.verify import VerifyReport, verify

from .media import make_segments
from .sealed import CADENCE, SEGMENTS, T0, Archive, seal_archive

S = schema.segments


@pytest.fixture
def archive(ctx: Context) -> Archive:
    return seal_archive(ctx)


def _kinds(report: VerifyReport) -> set[tuple[str, int | None]]:
    return {(f.kind, f.first_seq) for c in report.cameras for f in c.findings if f.failure}


def _run(a: Archive) -> VerifyReport:
    return verify(a.ctx, cadence=CADENCE, workers=2)


def _writable(path: Path) -> None:
    path.chmod(0o644)


def _drop_guards(a: Archive) -> None:
    """What an attacker with database access does first: remove the append-only triggers."""
    with a.ctx.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for verb in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS checkpoints_no_{verb}"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS checkpoints_append_only ON checkpoints"))


def test_an_untouched_archive_passes(archive: Archive) -> None:
    report = _run(archive)
    assert not report.failed, report.to_json()
    (cam,) = report.cameras
    assert cam.files_hashed == SEGMENTS
    assert [(s.first_seq, s.last_seq) for s in cam.ok_spans] == [(0, SEGMENTS - 1)]
    with archive.ctx.engine.connect() as conn:
        cps = [cp.seq for cp in checkpoints.rows(conn, archive.cam)]
    assert cps == [0, 4, 8, 11]
    result = CliRunner().invoke(app, ["verify", "--json", "--data", str(archive.ctx.data.root)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True


def test_a_flipped_byte_is_modified(archive: Archive) -> None:
    target = archive.path(5)
    _writable(target)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert _kinds(_run(archive)) == {("modified", 5)}
    result = CliRunner().invoke(app, ["verify", "--data", str(archive.ctx.data.root)])
    assert result.exit_code == 1 and "modified" in result.output


def test_a_deleted_file_is_missing(archive: Archive) -> None:
    archive.path(6).unlink()
    assert _kinds(_run(archive)) == {("missing", 6)}


def test_two_swapped_files_are_reordered(archive: Archive) -> None:
    a, b = archive.path(2), archive.path(3)
    _writable(a)
    _writable(b)
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    assert _kinds(_run(archive)) == {("reordered", 2), ("reordered", 3)}


def test_an_edited_digest_is_index_altered(archive: Archive) -> None:
    with archive.ctx.engine.begin() as conn:
        conn.execute(
            update(S).where(S.c.camera_id == archive.cam, S.c.seq == 1).values(sha256="ab" * 32)
        )
    kinds = _kinds(_run(archive))
    assert ("index-altered", 1) in kinds
    assert ("modified", 1) in kinds  # the file no longer matches what the row now claims


def test_a_forged_segment_with_a_matching_row_is_inserted(archive: Archive) -> None:
    """A thorough forger: a new file, a row for it, later rows renumbered, every later link
    recomputed so that the chain itself is consistent. The signed checkpoints expose it."""
    ctx, cam = archive.ctx, archive.cam
    source = archive.path(6)
    forged = source.with_name("forged.mp4")
    forged.write_bytes(source.read_bytes()[:-100] + b"\0" * 100)
    import hashlib

    with ctx.engine.begin() as conn:
        rows = conn.execute(select(S).where(S.c.camera_id == cam).order_by(S.c.seq.desc())).all()
        for r in rows:
            if r.seq >= 6:
                conn.execute(update(S).where(S.c.id == r.id).values(seq=r.seq + 1))
        base = next(r for r in rows if r.seq == 6)
        conn.execute(
            insert(S).values(
                {
                    **{k: getattr(base, k) for k in S.c.keys() if k != "id"},  # noqa: SIM118
                    "seq": 6,
                    "path": str(forged.relative_to(archive.root)),
                    "sha256": hashlib.sha256(forged.read_bytes()).hexdigest(),
                    "end_us": base.start_us,  # squeezed in: no overlap with its neighbours
                    "start_us": base.start_us - 1,
                }
            )
        )
        prev = bytes.fromhex(next(r for r in rows if r.seq == 5).link)
        for r in conn.execute(
            select(S).where(S.c.camera_id == cam, S.c.seq >= 6).order_by(S.c.seq)
        ).all():
            prev = segment_link(prev, cam, r.seq, r.start_us, r.end_us, r.bytes, r.sha256)
            conn.execute(update(S).where(S.c.id == r.id).values(link=prev.hex()))
    kinds = _kinds(_run(archive))
    assert any(kind == "inserted" for kind, _ in kinds), kinds


def test_a_deleted_index_row_is_missing(archive: Archive) -> None:
    with archive.ctx.engine.begin() as conn:
        conn.execute(delete(S).where(S.c.camera_id == archive.cam, S.c.seq == 9))
    kinds = _kinds(_run(archive))
    assert ("missing", 9) in kinds
    assert ("inserted", None) in kinds  # its file is still there, named by no row


def test_rows_lost_from_the_end_are_missing(archive: Archive) -> None:
    """A database restored from an older backup: the checkpoint file still knows better."""
    _drop_guards(archive)
    with archive.ctx.engine.begin() as conn:
        conn.execute(delete(S).where(S.c.camera_id == archive.cam, S.c.seq >= 9))
        conn.execute(
            delete(schema.checkpoints).where(
                schema.checkpoints.c.camera_id == archive.cam, schema.checkpoints.c.seq >= 9
            )
        )
    kinds = {k for k, _ in _kinds(_run(archive))}
    assert {"missing", "checkpoint"} <= kinds


def test_a_truncated_checkpoint_file_is_named(archive: Archive) -> None:
    path = checkpoints.file_path(archive.ctx.data, archive.cam)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:20])  # last line cut mid-way
    report = _run(archive)
    details = [f.detail for c in report.cameras for f in c.findings if f.kind == "checkpoint"]
    assert any("not in the checkpoint file" in d for d in details), details
    assert any("line 4" in d for d in details), details


def test_the_chain_goes_on_across_sealer_restarts(ctx: Context, tmp_path: Path) -> None:
    cam = svc.add_camera(ctx, CameraSpec(name="c", url="rtsp://10.0.0.1/s", place="p")).id
    clock = RunClock()
    for run in ("r1", "r2"):
        run_dir = ctx.data.camera_spool(cam) / run
        sealer = Sealer(ctx.engine, ctx.data, cadence=CADENCE)  # a new process each run
        for name, a, b in make_segments(run_dir, count=3, seconds=1):
            base = T0 if run == "r1" else T0 + 60_000_000
            timing = clock.place(a, b, base + int(b * 1e6))
            sealer.seal(SegmentClosed(cam, run, run_dir / name, timing, StreamInfo()))
        clock = RunClock()
    report = verify(ctx, cadence=CADENCE)
    assert not report.failed, report.to_json()
    tails = [f for c in report.cameras for f in c.findings if f.kind == "unsigned-tail"]
    assert tails and not tails[0].failure  # within one interval: reported, not a failure


def test_key_rotation_keeps_old_checkpoints_verifiable(archive: Archive) -> None:
    import fcntl

    from custodes.services import keys, signing

    ctx = archive.ctx
    before = signing.load_signer(ctx.data).key_id
    with (ctx.data.root / "recorder.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(keys.RotationRefused, match="stop it"):
            keys.rotate(ctx, actor="cli:ops")
    old, new = keys.rotate(ctx, actor="cli:ops")
    assert old == before and new != old
    assert signing.load_signer(ctx.data).key_id == new
    exported = {k.key_id: k for k in keys.export(ctx)}
    assert exported[old].retired_us is not None and exported[new].endorsed_by == old
    endorsement = exported[new].endorsement
    assert endorsement is not None
    assert signing.signature_ok(
        exported[old].public_key,
        keys.endorsement_message(new, exported[new].public_key),
        endorsement,
    )
    assert set(signing.public_keys_from_file(ctx.data)) == {old, new}
    # more footage after the rotation: checkpoints by the new key; the old ones still verify
    run_dir = ctx.data.camera_spool(archive.cam) / "run2"
    sealer = Sealer(ctx.engine, ctx.data, cadence=CADENCE)
    clock = RunClock()
    for name, a, b in make_segments(run_dir, count=2, seconds=1):
        timing = clock.place(a, b, T0 + 120_000_000 + int(b * 1e6))
        sealer.seal(SegmentClosed(archive.cam, "run2", run_dir / name, timing, StreamInfo()))
    sealer.checkpoint_now(archive.cam)
    with ctx.engine.connect() as conn:
        used = {cp.key_id for cp in checkpoints.rows(conn, archive.cam)}
        rotated = conn.execute(
            select(schema.ledger.c.action).where(schema.ledger.c.action == "key-rotated")
        ).all()
    assert used == {old, new} and len(rotated) == 1
    assert not _run(archive).failed


def _cut_tail(a: Archive, from_seq: int) -> None:
    """An attacker's cut of the newest footage: index rows and their files from `from_seq`
    on are deleted; the checkpoints are left where they are."""
    for seq in a.seqs():
        if seq >= from_seq:
            a.path(seq).unlink()
    with a.ctx.engine.begin() as conn:
        conn.execute(delete(S).where(S.c.camera_id == a.cam, S.c.seq >= from_seq))
        conn.execute(
            delete(schema.spans).where(schema.spans.c.camera_id == a.cam)
        )  # and the timeline, so that nothing shows the cut


def _drop_db_checkpoints(a: Archive, from_seq: int) -> None:
    _drop_guards(a)
    with a.ctx.engine.begin() as conn:
        conn.execute(
            delete(schema.checkpoints).where(
                schema.checkpoints.c.camera_id == a.cam, schema.checkpoints.c.seq >= from_seq
            )
        )


def _drop_file_checkpoints(a: Archive, from_seq: int) -> None:
    path = checkpoints.file_path(a.ctx.data, a.cam)
    kept = [
        ln for ln in path.read_bytes().splitlines(keepends=True) if json.loads(ln)["seq"] < from_seq
    ]
    path.write_bytes(b"".join(kept))


@pytest.mark.parametrize("kept_in", ["both", "database", "file"])
@pytest.mark.parametrize("cut_from", [6, 9])  # past checkpoint 8, or just after it
def test_a_tail_cut_past_a_checkpoint_is_missing(
    archive: Archive, kept_in: str, cut_from: int
) -> None:
    """Checkpoints at 0, 4, 8, 11. Every signed checkpoint, in either store, must be reached
    by the chain, or its segments are named missing — never "all verified"."""
    _cut_tail(archive, cut_from)
    if kept_in == "database":
        _drop_file_checkpoints(archive, cut_from)
    elif kept_in == "file":
        _drop_db_checkpoints(archive, cut_from)
    report = _run(archive)
    assert report.failed, report.to_json()
    (cam,) = report.cameras
    missing = [f for f in cam.findings if f.kind == "missing" and f.failure]
    assert [(f.first_seq, f.last_seq) for f in missing] == [(cut_from, SEGMENTS - 1)], missing
    assert "signed checkpoint 11" in missing[0].detail
    assert all(s.last_seq < cut_from for s in cam.ok_spans)
    assert not any(f.kind == "unsigned-tail" for f in cam.findings)
    if kept_in != "both":  # and the stores disagree
        assert any(f.kind == "checkpoint" and f.failure for f in cam.findings)
    result = CliRunner().invoke(app, ["verify", "--data", str(archive.ctx.data.root)])
    assert result.exit_code == 1 and "all verified" not in result.output


@pytest.mark.parametrize("kept_in", ["both", "file"])
def test_after_a_cut_new_footage_never_takes_signed_seqs(archive: Archive, kept_in: str) -> None:
    """After the cut and a restart, new authentic footage goes on after the newest signed
    seq (from either store), continues the chain from the signed link, verifies, and is not
    blamed; the cut stays named missing, and the restart raises the integrity alarm."""
    ctx = archive.ctx
    _cut_tail(archive, 6)
    if kept_in == "file":
        _drop_db_checkpoints(archive, 6)
    run_dir = ctx.data.camera_spool(archive.cam) / "run2"
    sealer = Sealer(ctx.engine, ctx.data, cadence=CADENCE)  # the recorder restarted
    clock = RunClock()
    seqs = []
    for name, a, b in make_segments(run_dir, count=2, seconds=1):
        timing = clock.place(a, b, T0 + 120_000_000 + int(b * 1e6))
        seqs.append(
            sealer.seal(SegmentClosed(archive.cam, "run2", run_dir / name, timing, StreamInfo()))
        )
    assert seqs == [SEGMENTS, SEGMENTS + 1]
    sealer.checkpoint_now(archive.cam)
    report = _run(archive)
    (cam,) = report.cameras
    failures = [f for f in cam.findings if f.failure]
    assert {(f.kind, f.first_seq, f.last_seq) for f in failures if f.kind != "checkpoint"} == {
        ("missing", 6, SEGMENTS - 1)
    }, failures
    assert (SEGMENTS, SEGMENTS + 1) in [(s.first_seq, s.last_seq) for s in cam.ok_spans]
    with ctx.engine.connect() as conn:
        alarm = conn.execute(
            select(schema.alarms.c.message).where(
                schema.alarms.c.kind == "integrity", schema.alarms.c.cleared_us.is_(None)
            )
        ).scalar_one()
    assert "6–11" in alarm and "signed checkpoint 11" in alarm


@pytest.mark.parametrize("state", ["done", "deleting"])
def test_a_planted_pruned_range_explains_nothing_away(archive: Archive, state: str) -> None:
    """A pruned-range row the ledger does not record — planted by anyone who can write the
    database — neither makes the sweep delete ('deleting': finished at the next start) nor
    hides a cut from verify ('done')."""
    ctx = archive.ctx
    if state == "done":
        _cut_tail(archive, 9)
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(schema.pruned_ranges).values(
                camera_id=archive.cam,
                first_seq=9,
                last_seq=11,
                start_us=T0,
                end_us=T0 + 1,
                segments=3,
                bytes=1,
                state=state,
                ledger_seq=None,
                created_us=T0,
            )
        )
    before = archive.seqs()
    assert finish_pending(ctx) == 0
    assert archive.seqs() == before  # nothing deleted on a planted row
    report = _run(archive)
    (cam,) = report.cameras
    if state == "done":
        missing = [f for f in cam.findings if f.kind == "missing" and f.failure]
        assert missing and "no sweep-batch entry" in missing[0].detail, cam.findings
    else:
        assert not report.failed, report.to_json()  # the footage is all there
    with ctx.engine.connect() as conn:
        alarms = conn.execute(
            select(schema.alarms.c.message).where(schema.alarms.c.kind == "integrity")
        ).all()
    if state == "deleting":
        assert alarms and "no sweep-batch entry" in alarms[0].message


def test_no_checkpoint_is_signed_over_a_chain_the_file_contradicts(archive: Archive) -> None:
    """The database's checkpoints from seq 4 cut and seq 5 rewritten with every later link
    recomputed: an export's checkpoint would sign the forgery with the installation's key.
    The file still holds checkpoints 4, 8 and 11: nothing is signed."""
    ctx = archive.ctx
    _drop_db_checkpoints(archive, 4)
    with ctx.engine.begin() as conn:
        rows = conn.execute(select(S).where(S.c.camera_id == archive.cam).order_by(S.c.seq)).all()
        prev = bytes.fromhex(rows[3].link)
        for r in rows[4:]:
            sha = "ab" * 32 if r.seq == 5 else r.sha256
            prev = segment_link(prev, archive.cam, r.seq, r.start_us, r.end_us, r.bytes, sha)
            conn.execute(update(S).where(S.c.id == r.id).values(sha256=sha, link=prev.hex()))
    signer = signing.load_signer(ctx.data)
    with pytest.raises(checkpoints.ChainBroken, match="checkpoint file holds"):
        checkpoints.sign_recent(ctx.engine, ctx.data, signer, archive.cam, T0, upto_seq=11)
    with ctx.engine.connect() as conn:
        assert [cp.seq for cp in checkpoints.rows(conn, archive.cam)] == [0]


def test_a_torn_checkpoint_line_never_swallows_the_next(archive: Archive) -> None:
    """A line cut short by a crash or a full disk (no final newline): the next append starts
    on a line of its own, so only the torn line is unreadable, never the one after it."""
    ctx = archive.ctx
    path = checkpoints.file_path(ctx.data, archive.cam)
    path.write_bytes(path.read_bytes() + b'{"camera_id": 1, "se')
    run_dir = ctx.data.camera_spool(archive.cam) / "run2"
    sealer = Sealer(ctx.engine, ctx.data, cadence=CADENCE)
    clock = RunClock()
    for name, a, b in make_segments(run_dir, count=1, seconds=1):
        timing = clock.place(a, b, T0 + 120_000_000 + int(b * 1e6))
        sealer.seal(SegmentClosed(archive.cam, "run2", run_dir / name, timing, StreamInfo()))
    sealer.checkpoint_now(archive.cam)
    found, bad = checkpoints.read_file(ctx.data, archive.cam)
    assert [cp.seq for cp in found][-1] == SEGMENTS and len(bad) == 1
