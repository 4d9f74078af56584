"""Retention in the database: each camera's policy, holds, and the gate every deletion passes.

No interface deletes footage except through `request_deletion` (a person asking) or the
sweep (services/sweep.py), and both ask `deletion_refusal` first. A refused request is
recorded in the ledger with its reason and article before the refusal is returned.

Periods are counted in the site's zone (setting `timezone`, default Asia/Shanghai) with the
jurisdiction's rest days (domain/periods.py, rules/jurisdictions.py). A setting that makes them
uncountable — no jurisdiction, an unknown zone — is an error (`RetentionConfigError`), never a
guess; the deletion gate turns it into a refusal, so that nothing is deleted on a guess.

Access holds (kind "access") are the system's: the footage an access request names is held
from the request's creation (drafts included) until it is rejected or withdrawn, or, once
approved, until its grant ends (expiry or revocation). They are placed and released in the
transaction of the request's own step (services/access.py calls the functions below), each
placement and release a ledger entry by RETENTION_ACTOR naming the request and who acted; the
sweep releases those whose grant expired. No person releases one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, and_, insert, or_, select, update

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.domain.periods import SiteCalendar
from custodes.domain.retention import (
    Hold,
    Jurisdiction,
    Policy,
    Refusal,
    camera_policy,
    deletion_refusal,
    important_until,
)
from custodes.rules.jurisdictions import load, rest_days
from custodes.services import ledger
from custodes.services.context import Context
from custodes.services.settings import DEFAULT_TIMEZONE

log = logging.getLogger(__name__)

CAM = schema.cameras
HOLDS = schema.holds
S = schema.segments
R = schema.access_requests
RC = schema.request_cameras
G = schema.grants
HOLD_KINDS = ("important", "case")  # the kinds a person places (and two people release)
ACCESS = "access"
RETENTION_ACTOR = "system:retention"  # the actor of every automatic hold entry
OPEN_STATES = ("draft", "submitted")


class RetentionRefused(RuntimeError):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"{refusal.reason} ({refusal.article})")
        self.refusal = refusal


class HoldError(ValueError):
    """A hold request that cannot be carried out (unknown hold, same person twice …)."""


class RetentionConfigError(RuntimeError):
    """A setting retention cannot be counted without is missing or wrong."""


class JurisdictionNotSet(RetentionConfigError):
    pass


class UnknownTimeZone(RetentionConfigError):
    pass


def jurisdiction_id(conn: Connection) -> str | None:
    """The jurisdiction setting as stored, or None (for readers that must not fail on it)."""
    value = conn.execute(
        select(schema.settings.c.value).where(schema.settings.c.key == "jurisdiction")
    ).scalar_one_or_none()
    return None if value is None or not str(value).strip() else str(value)


def jurisdiction(conn: Connection) -> Jurisdiction:
    """The installation's jurisdiction. None is assumed: without the setting its floors and
    articles are unknown (a Shenzhen unit keeps 30 days, a Jilin unit 15)."""
    value = jurisdiction_id(conn)
    if value is None:
        raise JurisdictionNotSet(
            "jurisdiction: this installation has no jurisdiction set, so its retention floors "
            "and articles are unknown; set it with `custodes init --jurisdiction "
            "jilin|liaoning|chongqing|shenzhen`"
        )
    try:
        return load(value)
    except ValueError as exc:
        raise JurisdictionNotSet(str(exc)) from None


def site_calendar(conn: Connection, j: Jurisdiction | None = None) -> SiteCalendar:
    """The site's zone (setting `timezone`) and the jurisdiction's rest days."""
    name = conn.execute(
        select(schema.settings.c.value).where(schema.settings.c.key == "timezone")
    ).scalar_one_or_none()
    name = str(name).strip() if name is not None and str(name).strip() else DEFAULT_TIMEZONE
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(
            f"timezone: {name!r} is not a known IANA time zone, so retention periods (which end "
            "at midnight, site time) cannot be counted"
        ) from None
    return SiteCalendar(zone, rest_days((j or jurisdiction(conn)).rest_days))


def policy_for(conn: Connection, camera_id: int) -> Policy:
    row = conn.execute(
        select(CAM.c.retention_days, CAM.c.key_target).where(CAM.c.id == camera_id)
    ).one()
    return camera_policy(
        jurisdiction(conn), key_target=bool(row.key_target), operator_days=row.retention_days
    )


def holds_for(conn: Connection, camera_id: int) -> list[Hold]:
    """The camera's holds that are not released (expired ones included: the caller asks
    `Hold.active`). An important hold lasts at least its year as counted now: one placed
    before periods were counted by the Civil Code stored end + 365 days, up to a day or two
    short, and is read as the later of the two."""
    rows = conn.execute(
        select(HOLDS).where(HOLDS.c.camera_id == camera_id, HOLDS.c.released_us.is_(None))
    ).all()
    year = _important_year(conn) if any(r.kind == "important" for r in rows) else None
    return [
        Hold(
            r.id,
            r.kind,
            r.start_us,
            r.end_us,
            _until(r.kind, r.end_us, r.until_us, year),
            r.reference,
            r.request_id,
        )
        for r in rows
    ]


def _important_year(conn: Connection) -> Callable[[int], int]:
    """end_us → when an important hold over footage ending then ends (raises
    RetentionConfigError when that cannot be counted)."""
    j = jurisdiction(conn)
    site = site_calendar(conn, j)
    return lambda end_us: important_until(end_us, j, site)


def _until(
    kind: str, end_us: int, until_us: int | None, year: Callable[[int], int] | None
) -> int | None:
    if kind != "important" or until_us is None or year is None:
        return until_us
    return max(int(until_us), year(int(end_us)))


@dataclass(frozen=True)
class HoldView:
    id: int
    kind: str
    camera_id: int
    start_us: int
    end_us: int
    reason: str
    reference: str | None
    created_by: str
    until_us: int | None
    release_requested_by: str | None
    released_by: str | None
    request_id: int | None = None
    created_us: int | None = None  # when it was placed (the holds page shows it)


@dataclass(frozen=True)
class CameraRetention:
    """One camera's retention as the holds page shows it: the law's minimum beside what the
    operator configured, and what is kept (the longer), or why it cannot be counted."""

    camera_id: int
    name: str
    legal_days: int | None  # the jurisdiction's floor for this camera (a key target's, if so)
    legal_article: str | None
    configured_days: int | None  # the operator's own setting, None where none
    kept_days: int | None
    reason: str | None  # Policy.reason: which of the two sets the period
    problem: str | None = None  # RetentionConfigError's message, where none can be counted


def camera_retentions(ctx: Context) -> list[CameraRetention]:
    """Every camera in service, by name: its legal minimum, its configured period and what is
    kept. A setting that makes periods uncountable is shown on each row, never guessed."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(CAM.c.id, CAM.c.name, CAM.c.retention_days, CAM.c.key_target)
            .where(CAM.c.retired_us.is_(None))
            .order_by(CAM.c.name)
        ).all()
        try:
            j: Jurisdiction | None = jurisdiction(conn)
            problem = None
        except RetentionConfigError as exc:
            j, problem = None, str(exc)
    out = []
    for r in rows:
        if j is None:
            out.append(
                CameraRetention(r.id, r.name, None, None, r.retention_days, None, None, problem)
            )
            continue
        floor = camera_policy(j, key_target=bool(r.key_target), operator_days=None)
        kept = camera_policy(j, key_target=bool(r.key_target), operator_days=r.retention_days)
        out.append(
            CameraRetention(
                r.id,
                r.name,
                floor.days,
                floor.article,
                r.retention_days,
                kept.days,
                kept.reason,
            )
        )
    return out


def place_hold(
    ctx: Context,
    *,
    camera_id: int,
    start_us: int,
    end_us: int,
    kind: str,
    reason: str,
    actor: str,
    reference: str | None = None,
) -> int:
    if kind == ACCESS:
        raise HoldError(
            "kind: access holds are placed by the access workflow itself (for the footage an "
            "access request names); a person places an important or a case hold"
        )
    if kind not in HOLD_KINDS:
        raise HoldError(f"kind: must be one of {', '.join(HOLD_KINDS)}")
    if end_us <= start_us:
        raise HoldError("a hold's end must be after its start")
    if not reason.strip():
        raise HoldError("reason: say why the footage is held")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        until = None
        if kind == "important":
            try:
                j = jurisdiction(conn)
                until = important_until(end_us, j, site_calendar(conn, j))
            except RetentionConfigError as exc:
                raise HoldError(str(exc)) from None
        hold_id = conn.execute(
            insert(HOLDS)
            .values(
                kind=kind,
                camera_id=camera_id,
                start_us=start_us,
                end_us=end_us,
                reason=reason,
                reference=reference,
                created_by=actor,
                created_us=now,
                until_us=until,
            )
            .returning(HOLDS.c.id)
        ).scalar_one()
        ledger.record(
            conn,
            actor=actor,
            action=ledger.HOLD_PLACED,
            object=f"hold:{hold_id}",
            details={
                "camera_id": camera_id,
                "kind": kind,
                "start_us": start_us,
                "end_us": end_us,
                "until_us": until,
                "reason": reason,
                "reference": reference,
            },
            time_us=now,
        )
    return int(hold_id)


def release_hold(ctx: Context, hold_id: int, *, actor: str) -> str:
    """The first account asks, a second, different account confirms. Returns "requested" or
    "released". An access hold is refused: it ends with its request or grant."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = conn.execute(select(HOLDS).where(HOLDS.c.id == hold_id)).first()
        if row is None:
            raise HoldError(f"no hold {hold_id}")
        if row.kind == ACCESS:
            raise HoldError(
                f"hold {hold_id} is an access hold: it keeps the footage access request "
                f"{row.request_id} names and ends by itself when the request is rejected or "
                "withdrawn, or when its grant expires or is revoked; nobody releases it by hand"
            )
        if row.released_us is not None:
            raise HoldError(f"hold {hold_id} was released already")
        if row.release_requested_by is None:
            conn.execute(
                update(HOLDS)
                .where(HOLDS.c.id == hold_id)
                .values(release_requested_by=actor, release_requested_us=now)
            )
            action, outcome = ledger.HOLD_RELEASE_REQUESTED, "requested"
        elif row.release_requested_by == actor:
            who = actor.removeprefix("account:")  # a person by their user name, on any page
            raise HoldError(
                f"hold {hold_id}: the release asked by {who} needs a second, different "
                "account to confirm it"
            )
        else:
            conn.execute(
                update(HOLDS)
                .where(HOLDS.c.id == hold_id)
                .values(released_by=actor, released_us=now)
            )
            action, outcome = ledger.HOLD_RELEASED, "released"
        ledger.record(
            conn,
            actor=actor,
            action=action,
            object=f"hold:{hold_id}",
            details={"camera_id": row.camera_id, "requested_by": row.release_requested_by},
            time_us=now,
        )
    return outcome


def list_holds(ctx: Context, camera_id: int | None = None) -> list[HoldView]:
    """Every hold, released ones included; an important hold's end as the gate reads it
    (`holds_for`), or as stored where the settings do not let it be counted."""
    with ctx.engine.connect() as conn:
        query = select(HOLDS).order_by(HOLDS.c.id)
        if camera_id is not None:
            query = query.where(HOLDS.c.camera_id == camera_id)
        try:
            year: Callable[[int], int] | None = _important_year(conn)
        except RetentionConfigError:
            year = None
        return [
            HoldView(
                r.id,
                r.kind,
                r.camera_id,
                r.start_us,
                r.end_us,
                r.reason,
                r.reference,
                r.created_by,
                _until(r.kind, r.end_us, r.until_us, year),
                r.release_requested_by,
                r.released_by,
                r.request_id,
                r.created_us,
            )
            for r in conn.execute(query)
        ]


# --- access holds: placed and released by the access workflow ------------------------------


def hold_request_footage(
    conn: Connection,
    *,
    request_id: int,
    camera_ids: Sequence[int],
    start_us: int,
    end_us: int,
    until_us: int | None,
    cause: str,
    by: str,
    now_us: int,
    grant_id: int | None = None,
) -> list[int]:
    """Make the request's access holds match what it names, inside the caller's transaction:
    one unreleased hold per camera over [start_us, end_us) until `until_us` (None: until the
    request is decided). Holds that no longer match (another range, a camera no longer named,
    another end) are released and new ones placed, so an edited request moves its holds.
    Call it after the step's own ledger entry, as every access step does: the ledger's head
    is then the first lock the transaction holds (the sweep takes them in the same order).
    Returns the ids of the holds placed now."""
    wanted = sorted(set(camera_ids))
    current = conn.execute(
        select(HOLDS.c.id, HOLDS.c.camera_id, HOLDS.c.start_us, HOLDS.c.end_us, HOLDS.c.until_us)
        .where(
            HOLDS.c.request_id == request_id,
            HOLDS.c.kind == ACCESS,
            HOLDS.c.released_us.is_(None),
        )
        .order_by(HOLDS.c.id)
    ).all()
    keep: set[int] = set()
    stale: list[int] = []
    for h in current:
        same = (h.start_us, h.end_us, h.until_us) == (start_us, end_us, until_us)
        if same and h.camera_id in wanted and h.camera_id not in keep:
            keep.add(int(h.camera_id))
        else:
            stale.append(int(h.id))
    _release(conn, stale, request_id=request_id, cause=cause, by=by, now_us=now_us)
    placed: list[int] = []
    entries: list[ledger.NewEntry] = []
    reason = f"footage named in access request {request_id}"
    for cam in wanted:
        if cam in keep:
            continue
        hold_id = int(
            conn.execute(
                insert(HOLDS)
                .values(
                    kind=ACCESS,
                    camera_id=cam,
                    start_us=start_us,
                    end_us=end_us,
                    reason=reason,
                    reference=f"request {request_id}",
                    created_by=RETENTION_ACTOR,
                    created_us=now_us,
                    until_us=until_us,
                    request_id=request_id,
                )
                .returning(HOLDS.c.id)
            ).scalar_one()
        )
        placed.append(hold_id)
        details: dict[str, Any] = {
            "camera_id": cam,
            "kind": ACCESS,
            "start_us": start_us,
            "end_us": end_us,
            "until_us": until_us,
            "reason": reason,
            "request": request_id,
            "cause": cause,
            "by": by,
        }
        if grant_id is not None:
            details["grant"] = grant_id
        entries.append(
            ledger.NewEntry(RETENTION_ACTOR, ledger.HOLD_PLACED, f"hold:{hold_id}", now_us, details)
        )
    ledger.record_many(conn, entries)  # one append for all (a request names ≤ 64 cameras)
    return placed


def release_request_holds(
    conn: Connection, request_id: int, *, cause: str, by: str, now_us: int
) -> list[int]:
    """Release every access hold of the request, inside the caller's transaction and after
    its own ledger entry (the request was rejected or withdrawn, its grant revoked). Returns
    the ids released."""
    ids = [
        int(i)
        for i in conn.execute(
            select(HOLDS.c.id).where(
                HOLDS.c.request_id == request_id,
                HOLDS.c.kind == ACCESS,
                HOLDS.c.released_us.is_(None),
            )
        ).scalars()
    ]
    return _release(conn, ids, request_id=request_id, cause=cause, by=by, now_us=now_us)


def _release(
    conn: Connection, ids: Iterable[int], *, request_id: int, cause: str, by: str, now_us: int
) -> list[int]:
    released: list[int] = []
    entries: list[ledger.NewEntry] = []
    for hold_id in ids:
        # only a hold still unreleased: a concurrent release (revocation beside the sweep)
        # finds the row released and writes no second entry
        row = conn.execute(
            update(HOLDS)
            .where(HOLDS.c.id == hold_id, HOLDS.c.released_us.is_(None))
            .values(released_by=RETENTION_ACTOR, released_us=now_us)
            .returning(HOLDS.c.camera_id)
        ).first()
        if row is None:
            continue
        released.append(hold_id)
        details = {
            "camera_id": int(row.camera_id),
            "kind": ACCESS,
            "request": request_id,
            "cause": cause,
            "by": by,
        }
        obj = f"hold:{hold_id}"
        entries.append(ledger.NewEntry(RETENTION_ACTOR, ledger.HOLD_RELEASED, obj, now_us, details))
    ledger.record_many(conn, entries)
    return released


class _ReleasedMeanwhile(Exception):
    """The hold was released by another transaction: roll this one back (its entry too)."""


def release_expired_access_holds(ctx: Context) -> int:
    """Mark released the access holds whose grant has expired (their `until_us` has passed;
    they stopped holding at that instant already), each with a ledger entry by
    RETENTION_ACTOR. Returns how many."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        due = conn.execute(
            select(HOLDS.c.id, HOLDS.c.camera_id, HOLDS.c.request_id)
            .where(
                HOLDS.c.kind == ACCESS,
                HOLDS.c.released_us.is_(None),
                HOLDS.c.until_us.is_not(None),
                HOLDS.c.until_us <= now,
            )
            .order_by(HOLDS.c.id)
        ).all()
    count = 0
    for hold in due:
        # the entry first, as every access step writes its own before it touches holds: the
        # ledger's head is the first lock taken, so this never deadlocks with a revocation
        try:
            with ctx.engine.begin() as conn:
                write_first(conn)
                ledger.record(
                    conn,
                    actor=RETENTION_ACTOR,
                    action=ledger.HOLD_RELEASED,
                    object=f"hold:{hold.id}",
                    details={
                        "camera_id": int(hold.camera_id),
                        "kind": ACCESS,
                        "request": None if hold.request_id is None else int(hold.request_id),
                        "cause": "grant-expired",
                        "by": RETENTION_ACTOR,
                    },
                    time_us=now,
                )
                done = conn.execute(
                    update(HOLDS)
                    .where(HOLDS.c.id == hold.id, HOLDS.c.released_us.is_(None))
                    .values(released_by=RETENTION_ACTOR, released_us=now)
                    .returning(HOLDS.c.id)
                ).first()
                if done is None:
                    raise _ReleasedMeanwhile
        except _ReleasedMeanwhile:
            continue
        count += 1
    return count


def restore_access_holds(ctx: Context) -> int:
    """Place the access holds an open request or a live grant lacks (a request filed before
    access holds existed, or one whose holds were lost): footage asked for stays until the
    request is decided and its grant has ended. Returns how many holds were placed."""
    now = ctx.clock()
    has_hold = (
        select(HOLDS.c.id)
        .where(
            HOLDS.c.request_id == R.c.id,
            HOLDS.c.kind == ACCESS,
            HOLDS.c.released_us.is_(None),
        )
        .exists()
    )
    query = (
        select(R.c.id, R.c.start_us, R.c.end_us)
        .select_from(R.outerjoin(G, G.c.request_id == R.c.id))
        .where(
            or_(
                R.c.state.in_(OPEN_STATES),
                and_(
                    R.c.state == "approved",
                    G.c.revoked_us.is_(None),
                    G.c.expires_us > now,
                ),
            ),
            ~has_hold,
        )
        .order_by(R.c.id)
    )
    placed = 0
    with ctx.engine.begin() as conn:
        write_first(conn)
        for row in conn.execute(query).all():
            # lock the request (and grant) and look again: a withdrawal, decision or
            # revocation committed since the query either shows now or waits for this one
            state = conn.execute(
                select(R.c.state).where(R.c.id == row.id).with_for_update()
            ).scalar_one()
            grant = None
            if state == "approved":
                grant = conn.execute(
                    select(G.c.id, G.c.revoked_us, G.c.expires_us)
                    .where(G.c.request_id == row.id)
                    .with_for_update()
                ).first()
                if grant is None or grant.revoked_us is not None or grant.expires_us <= now:
                    continue
            elif state not in OPEN_STATES:
                continue
            held = conn.execute(
                select(HOLDS.c.id).where(
                    HOLDS.c.request_id == row.id,
                    HOLDS.c.kind == ACCESS,
                    HOLDS.c.released_us.is_(None),
                )
            ).first()
            if held is not None:
                continue
            cams = list(
                conn.execute(select(RC.c.camera_id).where(RC.c.request_id == row.id)).scalars()
            )
            placed += len(
                hold_request_footage(
                    conn,
                    request_id=int(row.id),
                    camera_ids=cams,
                    start_us=int(row.start_us),
                    end_us=int(row.end_us),
                    until_us=None if grant is None else int(grant.expires_us),
                    cause="restored",
                    by=RETENTION_ACTOR,
                    now_us=now,
                    grant_id=None if grant is None else int(grant.id),
                )
            )
    if placed:
        log.warning("retention: placed %d missing access hold(s)", placed)
    return placed


# --- the gate --------------------------------------------------------------------------------


def check_deletion(
    ctx: Context, camera_id: int, start_us: int, end_us: int, *, actor: str, via: str
) -> None:
    """Raise RetentionRefused (and record the refusal in the ledger) when any footage of the
    camera in [start_us, end_us) is retained or held — or when retention cannot be counted."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        newest_end = conn.execute(
            select(S.c.end_us)
            .where(S.c.camera_id == camera_id, S.c.start_us < end_us, S.c.end_us > start_us)
            .order_by(S.c.end_us.desc())
            .limit(1)
        ).scalar_one_or_none()
        if newest_end is None:
            return
        refusal = _refusal(conn, camera_id, start_us, min(end_us, newest_end), now)
    if refusal is None:
        return
    ledger.record_now(
        ctx,
        actor=actor,
        action=ledger.DELETION_REFUSED,
        object=f"camera:{camera_id}",
        details={
            "start_us": start_us,
            "end_us": end_us,
            "via": via,
            "reason": refusal.reason,
            "article": refusal.article,
        },
        time_us=now,
    )
    raise RetentionRefused(refusal)


def _refusal(
    conn: Connection, camera_id: int, start_us: int, end_us: int, now: int
) -> Refusal | None:
    try:
        j = jurisdiction(conn)
    except RetentionConfigError as exc:
        return Refusal(f"nothing is deleted: {exc}", "")
    try:
        site = site_calendar(conn, j)
    except RetentionConfigError as exc:
        return Refusal(f"nothing is deleted: {exc}", j.cite(j.no_deletion_article))
    policy = policy_for(conn, camera_id)
    return deletion_refusal(start_us, end_us, now, policy, holds_for(conn, camera_id), site)
