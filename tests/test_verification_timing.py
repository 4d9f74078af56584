"""Irregular timing is timing, not tampering: the pure judge on a chain whose segments
overlap (receipt-time jitter of a loaded machine) or step back (the wall clock set back)."""

from __future__ import annotations

from custodes.domain.chain import GENESIS, Cadence, Checkpoint, segment_link
from custodes.domain.verification import Evidence, Row, SignedPoint, judge

CAM = 7
T0 = 1_795_000_000_000_000
SEG = 6_000_000
CADENCE = Cadence(segments=100, seconds=600)


def _signature_ok(public: str, message: bytes, signature: str) -> bool:
    return public == "k" and signature == message.hex()  # a stand-in: the judge is pure


def _evidence(starts: list[int]) -> Evidence:
    rows: list[Row] = []
    prev = GENESIS
    for seq, start in enumerate(starts):
        sha = f"{seq:064x}"
        link = segment_link(prev, CAM, seq, start, start + SEG, 1000 + seq, sha)
        rows.append(Row(seq, start, start + SEG, 1000 + seq, sha, link.hex(), f"p{seq}"))
        prev = link
    last = rows[-1]
    body = Checkpoint(CAM, last.seq, last.link, T0, "kid")
    cp = SignedPoint(last.seq, last.link, T0, "kid", body.message().hex())
    return Evidence(
        camera_id=CAM,
        rows=rows,
        pruned=[],
        checkpoints_db=[cp],
        checkpoints_file=[cp],
        file_problems=[],
        keys={"kid": "k"},
        digests={r.path: r.sha256 for r in rows},
        unindexed_files=[],
    )


def test_overlaps_from_receipt_jitter_are_timing_notes_not_failures() -> None:
    # the jitter seen under load: segments placed 139 ms to 509 ms early
    starts, t = [], T0
    for seq in range(12):
        early = (0, 139_000, 0, 509_000)[seq % 4]
        starts.append(t - early)
        t += SEG
    j = judge(_evidence(starts), CADENCE, _signature_ok)
    assert not [f for f in j.findings if f.failure], j.findings
    timing = [f for f in j.findings if f.kind == "timing"]
    assert len(timing) == 1 and "0.509 s" in timing[0].detail
    assert j.ok_seqs == list(range(12))


def test_a_clock_stepped_back_is_a_timing_note() -> None:
    starts = [T0 + i * SEG for i in range(5)] + [T0 + 2 * SEG + i * SEG for i in range(5)]
    j = judge(_evidence(starts), CADENCE, _signature_ok)
    assert not [f for f in j.findings if f.failure], j.findings
    assert any(f.kind == "timing" and "stepped back" in f.detail for f in j.findings)


def test_an_edited_time_is_still_caught_by_the_chain() -> None:
    """Timing notes take nothing away: a row whose time was edited no longer gives its link."""
    ev = _evidence([T0 + i * SEG for i in range(6)])
    rows = list(ev.rows)
    r = rows[3]
    rows[3] = Row(
        r.seq, r.start_us - 2_000_000, r.end_us - 2_000_000, r.bytes, r.sha256, r.link, r.path
    )
    edited = Evidence(**{**ev.__dict__, "rows": rows})
    j = judge(edited, CADENCE, _signature_ok)
    assert ("index-altered", 3) in {(f.kind, f.first_seq) for f in j.findings if f.failure}


def test_an_unsigned_tail_jittered_past_the_interval_is_still_within_it() -> None:
    """The sealer signs when a segment ends `seconds` after the checkpoint's segment; a tail
    whose first segment was placed early by jitter spans a little more, and is not a failure."""
    starts = [T0 + i * SEG for i in range(101)]
    ev = _evidence(starts)
    cp_row = ev.rows[0]
    body = Checkpoint(CAM, 0, cp_row.link, T0, "kid")
    cp = SignedPoint(0, cp_row.link, T0, "kid", body.message().hex())
    rows = list(ev.rows[:100])
    r1 = rows[1]
    rows[1] = Row(r1.seq, r1.start_us - 400_000, r1.end_us, r1.bytes, r1.sha256, r1.link, r1.path)
    ev = Evidence(**{**ev.__dict__, "rows": rows, "checkpoints_db": [cp], "checkpoints_file": [cp]})
    j = judge(ev, Cadence(segments=100, seconds=594), _signature_ok)
    tails = [f for f in j.findings if f.kind == "unsigned-tail"]
    assert tails and not tails[0].failure, j.findings


def test_the_first_segment_after_an_outage_is_not_an_overlong_tail() -> None:
    """After a 20-minute outage the first segment makes a checkpoint due, and commits with
    it; verify may read the checkpoints just before that commit and the rows just after:
    one segment, 20 minutes after the last checkpoint, is then the tail — not a failure."""
    ev = _evidence([T0, T0 + 1_200_000_000])
    cp_row = ev.rows[0]
    body = Checkpoint(CAM, 0, cp_row.link, T0, "kid")
    cp = SignedPoint(0, cp_row.link, T0, "kid", body.message().hex())
    ev = Evidence(**{**ev.__dict__, "checkpoints_db": [cp], "checkpoints_file": [cp]})
    j = judge(ev, CADENCE, _signature_ok)
    assert not [f for f in j.findings if f.failure], j.findings
    # two such segments are one too many: the second would have seen the first's checkpoint
    ev2 = _evidence([T0, T0 + 1_200_000_000, T0 + 1_206_000_000])
    ev2 = Evidence(**{**ev2.__dict__, "checkpoints_db": [cp], "checkpoints_file": [cp]})
    j2 = judge(ev2, CADENCE, _signature_ok)
    assert any(f.kind == "unsigned-tail" and f.failure for f in j2.findings), j2.findings
