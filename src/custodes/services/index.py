"""The segment index, gaps and per-camera state in the database (the sealer's side)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update

from custodes.adapters.db import schema
from custodes.clock import now_us

S = schema.segments
G = schema.gaps
CS = schema.camera_state
SP = schema.spans


@dataclass(frozen=True)
class SegmentRow:
    camera_id: int
    start_us: int
    end_us: int
    duration_us: int
    drift_us: int
    bytes: int
    video_codec: str | None
    width: int | None
    height: int | None
    audio_codec: str | None
    path: str
    sha256: str
    run_id: str
    salvaged: str | None = None  # why the segment is less than ffmpeg made (services/salvage.py)


def find_by_path(conn: Connection, path: str) -> tuple[int, str] | None:
    row = conn.execute(select(S.c.seq, S.c.sha256).where(S.c.path == path)).first()
    return (int(row.seq), str(row.sha256)) if row else None


@dataclass(frozen=True)
class LastSegment:
    seq: int
    width: int | None
    height: int | None
    link: str
    end_us: int
    run_id: str
    video_codec: str | None = None
    audio_codec: str | None = None


def last_segment(conn: Connection, camera_id: int) -> LastSegment | None:
    """The camera's newest segment: its successor's seq and link, the stream to compare
    with, and where (and in which run) it ended."""
    row = conn.execute(
        select(
            S.c.seq,
            S.c.width,
            S.c.height,
            S.c.link,
            S.c.end_us,
            S.c.run_id,
            S.c.video_codec,
            S.c.audio_codec,
        )
        .where(S.c.camera_id == camera_id)
        .order_by(S.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return LastSegment(
        int(row.seq),
        row.width,
        row.height,
        str(row.link),
        int(row.end_us),
        str(row.run_id),
        row.video_codec,
        row.audio_codec,
    )


def close_gap_at_once(
    conn: Connection, camera_id: int, start_us: int, end_us: int, reason: str
) -> None:
    """A gap that is over as soon as it is known (a hole inside one ffmpeg run)."""
    conn.execute(
        insert(G).values(camera_id=camera_id, start_us=start_us, end_us=end_us, reason=reason)
    )


def insert_segment_row(conn: Connection, row: SegmentRow, seq: int, link: str) -> None:
    """The index row alone; the caller keeps chain, gaps and spans in step (services/sealing)."""
    conn.execute(insert(S).values(seq=seq, sealed_us=now_us(), link=link, **row.__dict__))


class SegmentWrites:
    """The index rows and span growth of one sealing transaction, written at its end with
    one statement each (the rows) and one per span (the growth), however many segments."""

    def __init__(self) -> None:
        self._rows: list[dict[str, object]] = []
        self._grown: dict[int, list[int]] = {}  # span id -> [segments, bytes, end]

    def add_row(self, row: SegmentRow, seq: int, link: str) -> None:
        self._rows.append({"seq": seq, "sealed_us": now_us(), "link": link, **row.__dict__})

    def grow_span(self, span: SpanRow, row: SegmentRow) -> SpanRow:
        grown = SpanRow(
            span.id, max(span.end_us, row.end_us), span.segments + 1, span.bytes + row.bytes
        )
        acc = self._grown.setdefault(span.id, [0, 0, grown.end_us])
        acc[0] += 1
        acc[1] += row.bytes
        acc[2] = max(acc[2], grown.end_us)
        return grown

    def flush(self, conn: Connection) -> None:
        if self._rows:
            conn.execute(insert(S), self._rows)
        for span_id, (n, size, end) in self._grown.items():
            # counts added in SQL, not written from the cached span: the sweep may have
            # trimmed the span's head meanwhile (services/sweep.py)
            conn.execute(
                update(SP)
                .where(SP.c.id == span_id)
                .values(end_us=end, segments=SP.c.segments + n, bytes=SP.c.bytes + size)
            )
        self._rows.clear()
        self._grown.clear()


@dataclass(frozen=True)
class SpanRow:
    id: int
    end_us: int
    segments: int
    bytes: int


def last_span(conn: Connection, camera_id: int) -> SpanRow | None:
    r = conn.execute(
        select(SP.c.id, SP.c.end_us, SP.c.segments, SP.c.bytes)
        .where(SP.c.camera_id == camera_id)
        .order_by(SP.c.end_us.desc())
        .limit(1)
    ).first()
    return SpanRow(int(r.id), int(r.end_us), int(r.segments), int(r.bytes)) if r else None


def grow_span(conn: Connection, span: SpanRow, row: SegmentRow) -> SpanRow:
    """Counts are added in SQL, not written from the cached row: the sweep may have trimmed
    the span's head meanwhile (services/sweep.py)."""
    grown = SpanRow(
        span.id, max(span.end_us, row.end_us), span.segments + 1, span.bytes + row.bytes
    )
    conn.execute(
        update(SP)
        .where(SP.c.id == span.id)
        .values(end_us=grown.end_us, segments=SP.c.segments + 1, bytes=SP.c.bytes + row.bytes)
    )
    return grown


def new_span(conn: Connection, row: SegmentRow) -> SpanRow:
    result = conn.execute(
        insert(SP).values(
            camera_id=row.camera_id,
            start_us=row.start_us,
            end_us=row.end_us,
            segments=1,
            bytes=row.bytes,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return SpanRow(int(key[0]), row.end_us, 1, row.bytes)


def has_open_gap(conn: Connection, camera_id: int) -> bool:
    found = conn.execute(
        select(G.c.id).where(G.c.camera_id == camera_id, G.c.end_us.is_(None)).limit(1)
    ).first()
    return found is not None


def open_gap(conn: Connection, camera_id: int, start_us: int, reason: str) -> None:
    """One open gap per camera: a second failure while one is open changes nothing."""
    if conn.execute(select(G.c.id).where(G.c.camera_id == camera_id, G.c.end_us.is_(None))).first():
        return
    conn.execute(insert(G).values(camera_id=camera_id, start_us=start_us, reason=reason))


def close_open_gap(conn: Connection, camera_id: int, end_us: int) -> None:
    for gap in conn.execute(
        select(G.c.id, G.c.start_us).where(G.c.camera_id == camera_id, G.c.end_us.is_(None))
    ).all():
        conn.execute(update(G).where(G.c.id == gap.id).values(end_us=max(end_us, gap.start_us)))


def last_end_us(conn: Connection, camera_id: int) -> int | None:
    value = conn.execute(select(func.max(S.c.end_us)).where(S.c.camera_id == camera_id)).scalar()
    return int(value) if value is not None else None


RECORDING = "recording"


def set_state(
    conn: Connection,
    camera_id: int,
    state: str,
    detail: str | None = None,
    error: str | None = None,
) -> None:
    """The camera's state. Recording again clears the last error: it is history then (the
    gap it left keeps its reason), and status must not show it as current."""
    stamp = now_us()
    values: dict[str, object] = {"state": state, "updated_us": stamp}
    if detail is not None:  # None keeps the detail; "" clears it
        values["detail"] = detail or None
    if error is not None:
        values.update(last_error=error, last_error_us=stamp)
    elif state == RECORDING:
        values.update(last_error=None, last_error_us=None)
    _upsert_state(conn, camera_id, values)


def set_stream(
    conn: Connection,
    camera_id: int,
    video_codec: str | None,
    width: int | None,
    height: int | None,
    audio_codec: str | None,
) -> None:
    """The stream as last recorded (codec, picture size, audio), shown by status."""
    _upsert_state(
        conn,
        camera_id,
        {
            "video_codec": video_codec,
            "width": width,
            "height": height,
            "audio_codec": audio_codec,
        },
    )


def set_audio_dropped(conn: Connection, camera_id: int, codec: str | None) -> None:
    """Remember (or, with None, forget) that the camera's audio cannot be stored."""
    _upsert_state(conn, camera_id, {"audio_dropped": codec})


def audio_dropped(conn: Connection, camera_id: int) -> str | None:
    value = conn.execute(
        select(CS.c.audio_dropped).where(CS.c.camera_id == camera_id)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def _upsert_state(conn: Connection, camera_id: int, values: dict[str, object]) -> None:
    exists = conn.execute(select(CS.c.camera_id).where(CS.c.camera_id == camera_id)).first()
    if exists:
        conn.execute(update(CS).where(CS.c.camera_id == camera_id).values(**values))
    else:
        values = {"state": "idle", "updated_us": now_us(), **values}
        conn.execute(insert(CS).values(camera_id=camera_id, **values))
