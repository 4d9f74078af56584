"""`custodes status`: what each camera is doing, from the database (any process can ask).

What the database cannot know is asked of the machine: whether a recorder holds the data
directory (a killed recorder leaves its cameras' last state behind), and whether the archive
volume is full (a full disk may keep the recorder from writing its state at all). Both are
reported as they are now, beside the stored state and alarms.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, select

from custodes.adapters import archive, diskspace, process, recorder_lock, tls
from custodes.adapters.db import schema
from custodes.clock import iso, now_us
from custodes.domain.alarm_wording import Wording
from custodes.domain.camera import redact_text
from custodes.services import ledger
from custodes.services import tls as tls_service
from custodes.services.alarms import ACKNOWLEDGED_KINDS, DISK_FULL, open_alarms
from custodes.services.context import Context

DAY_US = 86_400 * 1_000_000
STOPPED = "stopped"
# states a camera keeps in the database while a recorder works it
STARTING = "starting"
_ACTIVE = frozenset({"starting", "recording", "reconnecting", "disk-full", "error"})


@dataclass(frozen=True)
class CameraStatus:
    id: int
    name: str
    state: str
    detail: str | None
    segments: int
    bytes: int
    newest_end: str | None
    newest_age_s: float | None
    gaps_24h: int
    gap_seconds_24h: float
    open_gap_since: str | None
    last_error: str | None
    last_error_at: str | None
    # the stream as last recorded
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio_codec: str | None = None
    audio_dropped: str | None = None  # the camera's audio codec MP4 cannot carry (not kept)
    # what crashes and full disks cut, in the last 24 hours
    salvaged_24h: int = 0
    quarantined_24h: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def camera_status(ctx: Context, *, now: int | None = None) -> list[CameraStatus]:
    now = now or now_us()
    cams, spans, gap, st = (
        schema.cameras,
        schema.spans,
        schema.gaps,
        schema.camera_state,
    )
    since = now - DAY_US
    running = recorder_lock.recorder_running(ctx.data.root)
    started = recorder_lock.started_us(ctx.data.root) if running else None
    with ctx.engine.connect() as conn:
        # From the spans (kept in step with the segments by the sealer): a handful of rows
        # per camera, where counting segments would read the whole index.
        seg_stats = {
            r.camera_id: r
            for r in conn.execute(
                select(
                    spans.c.camera_id,
                    func.coalesce(func.sum(spans.c.segments), 0).label("n"),
                    func.coalesce(func.sum(spans.c.bytes), 0).label("bytes"),
                    func.max(spans.c.end_us).label("newest"),
                ).group_by(spans.c.camera_id)
            )
        }
        # by the end_us index: the gaps still open, and those that ended in the last day
        gap_rows = [
            *conn.execute(
                select(gap.c.camera_id, gap.c.start_us, gap.c.end_us).where(
                    gap.c.end_us.is_(None), gap.c.start_us < now
                )
            ),
            *conn.execute(
                select(gap.c.camera_id, gap.c.start_us, gap.c.end_us).where(
                    gap.c.end_us > since, gap.c.start_us < now
                )
            ),
        ]
        # from the ledger's (action, time) index: a few entries, where the index has millions
        cut = _per_camera(conn, ledger.SEGMENT_SALVAGED, since)
        quarantined = _per_camera(conn, ledger.FILE_QUARANTINED, since)
        rows = conn.execute(
            select(
                cams,
                st.c.state,
                st.c.detail,
                st.c.last_error,
                st.c.last_error_us,
                st.c.updated_us.label("state_updated_us"),
                st.c.video_codec,
                st.c.width,
                st.c.height,
                st.c.audio_codec,
                st.c.audio_dropped,
            )
            .select_from(cams.outerjoin(st, and_(st.c.camera_id == cams.c.id)))
            .where(cams.c.retired_us.is_(None))
            .order_by(cams.c.id)
        ).all()
    out = []
    for r in rows:
        s = seg_stats.get(r.id)
        mine = [g for g in gap_rows if g.camera_id == r.id]
        gap_s = sum((min(g.end_us or now, now) - max(g.start_us, since)) / 1e6 for g in mine)
        open_since = next((g.start_us for g in mine if g.end_us is None), None)
        newest = int(s.newest) if s and s.newest is not None else None
        state, detail = r.state or "idle", r.detail
        if not running and state in _ACTIVE:
            state, detail = STOPPED, "no recorder is running on this data directory"
        elif state in _ACTIVE and started is not None and (r.state_updated_us or 0) < started:
            # written by the recorder that ran before this one: nothing of this run yet
            state, detail = STARTING, f"the recorder is starting (before it: {state})"
        out.append(
            CameraStatus(
                id=r.id,
                name=r.name,
                state=state,
                detail=redact_text(detail) if detail else detail,
                segments=int(s.n) if s else 0,
                bytes=int(s.bytes) if s else 0,
                newest_end=iso(newest) if newest else None,
                newest_age_s=round((now - newest) / 1e6, 1) if newest else None,
                gaps_24h=len(mine),
                gap_seconds_24h=round(max(gap_s, 0.0), 1),
                open_gap_since=iso(open_since) if open_since else None,
                # stored redacted; redacted again for rows written before query-string
                # credentials were recognised
                last_error=redact_text(r.last_error) if r.last_error else r.last_error,
                last_error_at=iso(r.last_error_us) if r.last_error_us else None,
                video_codec=r.video_codec,
                width=r.width,
                height=r.height,
                audio_codec=r.audio_codec,
                audio_dropped=r.audio_dropped,
                salvaged_24h=cut.get(r.id, 0),
                quarantined_24h=quarantined.get(r.id, 0),
            )
        )
    return out


def _per_camera(conn: Connection, action: str, since: int) -> dict[int, int]:
    L = schema.ledger
    counts: dict[int, int] = {}
    for obj, n in conn.execute(
        select(L.c.object, func.count())
        .where(L.c.action == action, L.c.time_us > since)
        .group_by(L.c.object)
    ):
        kind, _, ident = str(obj).partition(":")
        if kind == "camera" and ident.isdigit():
            counts[int(ident)] = int(n)
    return counts


def protection(ctx: Context) -> str:
    """How sealed files are protected here: "immutable" (chattr +i) or "read-only" (0444)."""
    return archive.protection_in_force(ctx.data.archive)


@dataclass(frozen=True)
class AlarmStatus:
    kind: str
    camera_id: int | None
    message: str
    raised: str
    raised_us: int = 0
    id: int | None = None  # None: seen now, not stored (the database may be what is full)
    acknowledgeable: bool = False  # no condition clears it: a person acknowledges it
    # what `message` says as data (domain/alarm_wording.py), for a client to word it in its
    # own language; None for an alarm raised before keys (then `message` is all there is)
    message_key: str | None = None
    params: dict[str, str] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class DiskStatus:
    free_bytes: int
    total_bytes: int
    reserve_bytes: int
    full: bool
    warning: str | None


@dataclass(frozen=True)
class TlsStatus:
    """The web server's certificate as `serve` would load it (docs/SECURITY.md)."""

    state: str  # "ok", "expiring" (within 30 days), "expired", "missing", "damaged"
    subject: str | None = None
    names: tuple[str, ...] = ()
    not_after: str | None = None
    fingerprint: str | None = None
    made_here: bool | None = None
    problem: str | None = None


def tls_status(ctx: Context, now: int | None = None) -> TlsStatus:
    try:
        cert = tls_service.current(ctx.data)
    except tls.CertificateProblem as exc:
        return TlsStatus("damaged", problem=str(exc))
    if cert is None:
        return TlsStatus("missing")
    seen = (now_us() if now is None else now) / 1e6
    left = cert.not_after.timestamp() - seen
    state = (
        "expired"
        if left <= 0
        else "expiring"
        if left <= tls.EXPIRY_WARNING.total_seconds()
        else "ok"
    )
    return TlsStatus(
        state,
        cert.subject,
        cert.names,
        cert.not_after.isoformat(),
        cert.fingerprint,
        cert.made_here,
    )


@dataclass(frozen=True)
class SystemStatus:
    protection: str
    alarms: list[AlarmStatus]
    recorder_running: bool = False
    disk: DiskStatus | None = None
    # what keeps ffmpeg's command line (the camera URL, its credentials inside) from other
    # local users: "hidepid=…" (/proc mounted so), or "none" (`ps` shows it to them)
    process_arguments: str = process.NO_ARGV_PROTECTION
    tls: TlsStatus | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def disk_status(ctx: Context) -> DiskStatus:
    use = diskspace.usage(ctx.data.archive)
    try:
        reserve = diskspace.reserve_bytes()
        warning = diskspace.reserve_warning(reserve)
    except diskspace.ReserveTooSmall as exc:
        reserve, warning = 0, str(exc)
    return DiskStatus(use.free, use.total, reserve, use.free < max(reserve, 1), warning)


def system_status(ctx: Context) -> SystemStatus:
    with ctx.engine.connect() as conn:
        alarms = [
            AlarmStatus(
                a.kind,
                a.camera_id,
                a.message,
                iso(a.raised_us),
                a.raised_us,
                a.id,
                a.kind in ACKNOWLEDGED_KINDS,
                a.message_key,
                a.params,
            )
            for a in open_alarms(conn)
        ]
    disk = disk_status(ctx)
    if disk.full and not any(a.kind == DISK_FULL for a in alarms):
        seen = now_us()
        said = Wording(
            "disk-full-volume",
            {
                "free_mb": f"{disk.free_bytes / 1e6:,.0f}",
                "reserve_mb": f"{disk.reserve_bytes / 1e6:,.0f}",
            },
        )
        alarms.append(
            AlarmStatus(
                DISK_FULL,
                None,
                said.english,
                iso(seen),
                seen,
                message_key=said.key,
                params=dict(said.params),
            )
        )
    running = recorder_lock.recorder_running(ctx.data.root)
    return SystemStatus(
        protection(ctx), alarms, running, disk, process.argv_protection(), tls_status(ctx)
    )
