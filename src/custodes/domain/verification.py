"""Judge one camera's archive: index rows, file digests, chain links and signed checkpoints.

Pure: the caller reads the rows, hashes the files and reads both checkpoint stores; this
module only compares. Tampering verdicts come from digests, the chain and the signatures
alone (GLOSSARY.md):

* ok            — file digest, index row, link and checkpoints agree;
* modified      — the file's bytes differ from its digest;
* missing       — a file is gone, index rows are gone (a hole in the seqs no sweep
                  recorded), or rows that a signed checkpoint — in either store — vouches
                  for are gone (the index ends before the newest checkpoint);
* inserted      — a file no row names, or a row whose removal restores a signed link;
* reordered     — files holding another segment's bytes;
* index-altered — a row's fields (times, size, digest) do not give its link, or the chain
                  does not reach a signed checkpoint's link;
* checkpoint    — a bad signature, an unknown key, or the checkpoint file and the database
                  disagree (truncated, edited, or a database restored from elsewhere);
* unsigned-tail — segments after the newest checkpoint: normal up to one checkpoint interval
                  (not a failure), a failure beyond it.

Irregular timing — a segment placed before its predecessor ends (receipt-time jitter on a
loaded machine), rows out of time order (the wall clock stepped back) — is reported as
`timing`, never as a failure: the times are in every link, so an edit of them is caught by
the chain, and what is left is the recorder's view of the clock.

What a finding says is worded by key and parameters (domain/finding_wording.py), so that each
reader has it in their language; its English `detail` is rendered from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from custodes.domain.chain import GENESIS, Cadence, Checkpoint, segment_link
from custodes.domain.finding_wording import Part, english

TIMING = "timing"
# Below this, a neighbour's overlap is not even worth a timing note (receipt-time jitter).
JITTER_US = 100_000
_UNKNOWN = b"?" * 32  # no trusted previous link (after an unexplained hole)


@dataclass(frozen=True)
class Row:
    seq: int
    start_us: int
    end_us: int
    bytes: int
    sha256: str
    link: str
    path: str


@dataclass(frozen=True)
class SignedPoint:
    seq: int
    link: str
    time_us: int
    key_id: str
    signature: str


@dataclass(frozen=True)
class Finding:
    """`detail` is the English of `parts` (domain/finding_wording.py), said in a reader's
    language from them; a finding made without parts is its detail alone."""

    kind: str
    first_seq: int | None
    last_seq: int | None
    detail: str
    failure: bool = True
    parts: tuple[Part, ...] = field(default=(), hash=False)  # dicts: hashed by the rest


def finding(
    kind: str, first: int | None, last: int | None, *parts: Part, failure: bool = True
) -> Finding:
    """A finding worded by `parts`: ValueError when they do not render (checked where it is
    made, not where it is shown)."""
    detail = english(parts)
    if detail is None:
        raise ValueError(f"finding {kind!r}: parts {parts!r} do not render")
    return Finding(kind, first, last, detail, failure, tuple(parts))


@dataclass
class Judgement:
    findings: list[Finding] = field(default_factory=list)
    ok_seqs: list[int] = field(default_factory=list)

    def add(self, kind: str, first: int | None, last: int | None, *parts: Part) -> None:
        self.findings.append(finding(kind, first, last, *parts))

    def note(self, kind: str, first: int | None, last: int | None, *parts: Part) -> None:
        self.findings.append(finding(kind, first, last, *parts, failure=False))


@dataclass(frozen=True)
class Evidence:
    """Everything known about one camera; `digests` maps a row's path to its file's SHA-256
    (None: no file). Only rows whose path is in `digests` had their file checked. Both
    checkpoint stores are read before the rows (docs/INTEGRITY.md), so that a checkpoint
    past the newest row means rows are gone, not that a segment was sealed meanwhile."""

    camera_id: int
    rows: Sequence[Row]
    pruned: Sequence[tuple[int, int]]  # (first_seq, last_seq) removed by the sweep
    checkpoints_db: Sequence[SignedPoint]
    checkpoints_file: Sequence[SignedPoint]
    file_problems: Sequence[Part]  # unparsable checkpoint-file lines
    keys: dict[str, str]  # key id -> public key (hex)
    digests: dict[str, str | None]
    unindexed_files: Sequence[str]
    # ranges a pruned_ranges row claims the sweep removed, but no sweep-batch entry of the
    # ledger records: not counted as pruned (their rows are missing)
    unproven_pruned: Sequence[tuple[int, int]] = ()


def judge(
    ev: Evidence,
    cadence: Cadence,
    signature_ok: Callable[[str, bytes, str], bool],
) -> Judgement:
    j = Judgement()
    bad: set[int] = set()
    valid = _check_checkpoints(ev, signature_ok, j)
    cp_links = {cp.seq: cp.link for cp in valid}
    _walk_chain(ev, cp_links, j, bad)
    _check_against_checkpoints(ev, valid, j, bad)
    _check_vouched_end(ev, valid, j, bad)
    _check_files(ev, j, bad)
    for path in ev.unindexed_files:
        j.add("inserted", None, None, ("file-unindexed", {"path": path}))
    _check_timing(ev, j)
    _check_tail(ev, valid, cadence, j)
    j.ok_seqs = [r.seq for r in ev.rows if r.seq not in bad]
    return j


def _check_checkpoints(
    ev: Evidence, signature_ok: Callable[[str, bytes, str], bool], j: Judgement
) -> list[SignedPoint]:
    """The checkpoints of both stores whose signatures verify, one per seq (the database's
    where both hold one), sorted by seq; every problem with either store is a finding."""
    in_db = {(cp.seq, cp.link, cp.signature): cp for cp in ev.checkpoints_db}
    in_file = {(cp.seq, cp.link, cp.signature): cp for cp in ev.checkpoints_file}
    by_seq: dict[int, SignedPoint] = {}
    for key, cp in [*in_db.items(), *((k, c) for k, c in in_file.items() if k not in in_db)]:
        where = (
            "both" if key in in_db and key in in_file else ("database" if key in in_db else "file")
        )
        public = ev.keys.get(cp.key_id)
        message = Checkpoint(ev.camera_id, cp.seq, cp.link, cp.time_us, cp.key_id).message()
        if public is None:
            said = {"seq": str(cp.seq), "where": where, "key": cp.key_id}
            j.add("checkpoint", cp.seq, cp.seq, ("checkpoint-unknown-key", said))
        elif not signature_ok(public, message, cp.signature):
            j.add(
                "checkpoint",
                cp.seq,
                cp.seq,
                ("checkpoint-bad-signature", {"seq": str(cp.seq), "where": where}),
            )
        elif cp.seq in by_seq and by_seq[cp.seq].link != cp.link:
            j.add(
                "checkpoint",
                cp.seq,
                cp.seq,
                ("checkpoints-disagree", {"seq": str(cp.seq)}),
            )
        else:
            by_seq.setdefault(cp.seq, cp)
    db_only = sorted(seq for seq, _, _ in set(in_db) - set(in_file))
    file_only = sorted(seq for seq, _, _ in set(in_file) - set(in_db))
    if db_only:
        j.add(
            "checkpoint",
            db_only[0],
            db_only[-1],
            ("checkpoints-db-only", {"count": str(len(db_only))}),
        )
    if file_only:
        j.add(
            "checkpoint",
            file_only[0],
            file_only[-1],
            ("checkpoints-file-only", {"count": str(len(file_only))}),
        )
    for problem in ev.file_problems:
        j.add("checkpoint", None, None, problem)
    return [by_seq[s] for s in sorted(by_seq)]


def _walk_chain(ev: Evidence, cp_links: dict[int, str], j: Judgement, bad: set[int]) -> None:
    pruned = sorted(ev.pruned)
    prev = GENESIS
    expected = 0
    for row in ev.rows:
        if row.seq > expected:
            hole = (expected, row.seq - 1)
            anchor = cp_links.get(row.seq - 1)
            if not _covered(hole, pruned):
                vouched = [s for s in cp_links if hole[0] <= s <= hole[1]]
                span = {"first": str(hole[0]), "last": str(hole[1])}
                gone: Part = (
                    ("rows-gone-vouched", {**span, "checkpoint": str(vouched[-1])})
                    if vouched
                    else ("rows-gone", span)
                )
                j.add("missing", hole[0], hole[1], gone, *_claimed(ev, hole))
            elif anchor is None:
                j.add(
                    "missing",
                    hole[0],
                    hole[1],
                    ("pruned-unanchored", {"last": str(hole[1])}),
                )
            prev = bytes.fromhex(anchor) if anchor is not None else _UNKNOWN
        if prev is not _UNKNOWN:
            computed = segment_link(
                prev, ev.camera_id, row.seq, row.start_us, row.end_us, row.bytes, row.sha256
            ).hex()
            if computed != row.link:
                j.add(
                    "index-altered",
                    row.seq,
                    row.seq,
                    ("row-link-wrong", {"seq": str(row.seq)}),
                )
                bad.add(row.seq)
        prev = bytes.fromhex(row.link)  # go on from what is stored: one edit, one finding
        expected = row.seq + 1


def _claimed(ev: Evidence, hole: tuple[int, int]) -> tuple[Part, ...]:
    claims = [(a, b) for a, b in ev.unproven_pruned if a <= hole[1] and b >= hole[0]]
    if not claims:
        return ()
    a, b = claims[0]
    return (("sweep-unrecorded", {"first": str(a), "last": str(b)}),)


def _covered(hole: tuple[int, int], pruned: list[tuple[int, int]]) -> bool:
    need = hole[0]
    for first, last in pruned:
        if first <= need <= last:
            need = last + 1
        if need > hole[1]:
            return True
    return need > hole[1]


def _check_against_checkpoints(
    ev: Evidence, valid: list[SignedPoint], j: Judgement, bad: set[int]
) -> None:
    """Does the chain reach every signed checkpoint? Rows are recomputed from their fields
    (not their stored links), so rewriting the links after an edit does not help. When a
    checkpoint is missed, one inserted row is looked for (dropping it must restore the signed
    link), and rows whose stored link equals a checkpoint's at a lower seq show removals.
    An interval with rows gone cannot be recomputed: its hole is already named missing (by
    the walk, or by `_check_vouched_end`), and its remaining rows are not counted ok."""
    by_seq = {r.seq: r for r in ev.rows}
    by_link = {r.link: r.seq for r in ev.rows}
    newest_row = ev.rows[-1].seq if ev.rows else -1
    offset = 0  # rows found inserted so far: original seq s is now s + offset
    previous_cp, prev_link = -1, GENESIS
    pruned = sorted(ev.pruned)
    for cp in valid:
        lo = previous_cp + 1
        current = [by_seq.get(s + offset) for s in range(lo, cp.seq + 1)]
        present = [r for r in current if r is not None]
        if offset == 0 and _covered((lo, cp.seq), pruned):
            pass  # swept: nothing left to recompute; the chain resumes from this checkpoint
        elif len(present) < len(current) and (offset == 0 or cp.seq + offset > newest_row):
            bad.update(r.seq for r in present)  # rows are gone: unverifiable, named missing
        elif len(present) == len(current) and _reaches(
            ev.camera_id, prev_link, lo, present, cp.link
        ):
            pass
        elif (k := _one_insertion(ev.camera_id, prev_link, lo, cp, offset, by_seq)) is not None:
            j.add(
                "inserted",
                k,
                k,
                ("row-inserted", {"seq": str(k), "checkpoint": str(cp.seq)}),
            )
            bad.add(k)
            offset += 1
        elif (moved := by_link.get(cp.link)) is not None and moved < cp.seq + offset:
            j.add(
                "missing",
                lo + offset,
                cp.seq + offset,
                (
                    "rows-removed",
                    {
                        "count": str(cp.seq + offset - moved),
                        "checkpoint": str(cp.seq),
                        "moved": str(moved),
                    },
                ),
            )
            bad.update(range(lo + offset, moved + 1))
            offset = moved - cp.seq
        else:
            j.add(
                "index-altered",
                lo + offset,
                cp.seq + offset,
                (
                    "rows-rewritten",
                    {
                        "first": str(lo + offset),
                        "last": str(cp.seq + offset),
                        "checkpoint": str(cp.seq),
                    },
                ),
            )
            bad.update(s + offset for s in range(lo, cp.seq + 1) if s + offset in by_seq)
        previous_cp, prev_link = cp.seq, bytes.fromhex(cp.link)


def _check_vouched_end(ev: Evidence, valid: list[SignedPoint], j: Judgement, bad: set[int]) -> None:
    """Every signed checkpoint must be reached by the chain: one past the newest row (and
    past every pruned range) means the index's newest rows are gone — cut off, or a
    database restored from an older copy. The rows after the checkpoint before it cannot be
    checked against it either."""
    if not valid:
        return
    newest_row = ev.rows[-1].seq if ev.rows else -1
    newest_pruned = max((last for _, last in ev.pruned), default=-1)
    top = valid[-1]
    if top.seq <= max(newest_row, newest_pruned):
        return
    first = max(newest_row, newest_pruned) + 1
    below = [cp.seq for cp in valid if cp.seq <= newest_row]
    since = below[-1] + 1 if below else 0
    unchecked = [r.seq for r in ev.rows if since <= r.seq]
    bad.update(unchecked)
    also: tuple[Part, ...] = (
        (("rows-unchecked", {"first": str(unchecked[0]), "last": str(unchecked[-1])}),)
        if unchecked
        else ()
    )
    gone = {
        "first": str(first),
        "last": str(top.seq),
        "checkpoint": str(top.seq),
        "newest": str(newest_row),
    }
    j.add(
        "missing", first, top.seq, ("segments-gone", gone), *also, *_claimed(ev, (first, top.seq))
    )


def _reaches(camera_id: int, prev: bytes, first_seq: int, rows: list[Row], target: str) -> bool:
    for seq, r in enumerate(rows, first_seq):
        prev = segment_link(prev, camera_id, seq, r.start_us, r.end_us, r.bytes, r.sha256)
    return prev.hex() == target


def _one_insertion(
    camera_id: int,
    prev: bytes,
    lo: int,
    cp: SignedPoint,
    offset: int,
    by_seq: dict[int, Row],
) -> int | None:
    """The current seq of a single inserted row that explains a missed checkpoint, if any."""
    window = [by_seq.get(s + offset) for s in range(lo, cp.seq + 2)]
    if any(r is None for r in window):
        return None
    rows = [r for r in window if r is not None]
    for k in range(len(rows)):
        if _reaches(camera_id, prev, lo, rows[:k] + rows[k + 1 :], cp.link):
            return rows[k].seq
    return None


def _check_files(ev: Evidence, j: Judgement, bad: set[int]) -> None:
    owner = {r.sha256: r.seq for r in ev.rows}
    for row in ev.rows:
        if row.path not in ev.digests:
            continue
        actual = ev.digests[row.path]
        if actual is None:
            j.add(
                "missing", row.seq, row.seq, ("file-gone", {"seq": str(row.seq), "path": row.path})
            )
            bad.add(row.seq)
        elif actual != row.sha256:
            other = owner.get(actual)
            if other is not None and other != row.seq:
                j.add(
                    "reordered",
                    row.seq,
                    row.seq,
                    (
                        "file-of-another",
                        {"seq": str(row.seq), "path": row.path, "other": str(other)},
                    ),
                )
            else:
                changed = {"seq": str(row.seq), "path": row.path}
                j.add("modified", row.seq, row.seq, ("file-changed", changed))
            bad.add(row.seq)


def _check_timing(ev: Evidence, j: Judgement) -> None:
    """Overlaps and steps back in time between neighbouring rows: the recorder's clock, not
    the footage. One note per kind and camera, however many rows."""
    overlaps: list[tuple[int, int]] = []  # (seq, by how much)
    backwards: list[tuple[int, int]] = []
    previous: Row | None = None
    for row in ev.rows:
        if previous is not None and row.seq == previous.seq + 1:
            if row.start_us < previous.start_us:
                backwards.append((row.seq, previous.start_us - row.start_us))
            elif row.start_us < previous.end_us - JITTER_US:
                overlaps.append((row.seq, previous.end_us - row.start_us))
        previous = row
    if overlaps:
        worst = max(overlaps, key=lambda o: o[1])
        j.note(
            TIMING,
            overlaps[0][0],
            overlaps[-1][0],
            (
                "timing-overlap",
                {
                    "count": str(len(overlaps)),
                    "seconds": f"{worst[1] / 1e6:.3f}",
                    "seq": str(worst[0]),
                },
            ),
        )
    if backwards:
        worst = max(backwards, key=lambda o: o[1])
        j.note(
            TIMING,
            backwards[0][0],
            backwards[-1][0],
            (
                "timing-backwards",
                {
                    "count": str(len(backwards)),
                    "seconds": f"{worst[1] / 1e6:.3f}",
                    "seq": str(worst[0]),
                },
            ),
        )


def _check_tail(ev: Evidence, valid: Iterable[SignedPoint], cadence: Cadence, j: Judgement) -> None:
    """Segments after the newest checkpoint, judged by the sealer's own rule (a checkpoint
    is due `cadence.segments` after the last one, or `cadence.seconds` after its segment's
    end) on all but the newest of them: that one may have committed, with the checkpoint it
    made due, after the checkpoints were read (the first segment after an outage does)."""
    if not ev.rows:
        return
    newest = max((cp.seq for cp in valid), default=-1)
    tail = [r for r in ev.rows if r.seq > newest]
    if not tail:
        return
    anchor = next((r for r in ev.rows if r.seq == newest), None)
    since_us = anchor.end_us if anchor is not None else tail[0].start_us
    judged = tail[:-1]
    within = not judged or (
        len(judged) < cadence.segments
        and judged[-1].end_us - since_us < cadence.seconds * 1_000_000
    )
    j.findings.append(
        finding(
            "unsigned-tail",
            tail[0].seq,
            tail[-1].seq,
            ("tail-within" if within else "tail-beyond", {"count": str(len(tail))}),
            failure=not within,
        )
    )
