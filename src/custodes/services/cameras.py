"""The camera registry use cases: add, list, show, update, retire.

Adding, changing and retiring a camera are ledger entries written in the same transaction as
the registry row; they name the fields changed and their old and new values, except the
credentials, of which only the fact of a change is recorded.

Credentials are bound to the hosts (and ports) they were given for: a change of the URLs to
another endpoint drops them unless the same request gives them again (they would otherwise
be sent to whatever host an administrator names), and the answer and the ledger say so.
Every URL read from the registry is redacted (a row stored before query-string credentials
were recognised shows `***` for them too); only `active_targets` and `stream_url` rebuild the
real URL, for ffmpeg.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from custodes.adapters.db import schema
from custodes.adapters.db.limits import is_id
from custodes.clock import iso, now_us
from custodes.domain.camera import (
    CameraFieldError,
    CameraSpec,
    endpoint,
    redact_text,
    split_credentials,
    validate,
    with_credentials,
)
from custodes.services import ledger
from custodes.services.context import Context

T = schema.cameras
SECRET_FIELDS = frozenset({"username", "password"})  # never in the ledger, not even hashed


class CameraNotFound(LookupError):
    pass


@dataclass(frozen=True)
class CameraView:
    """What may be shown about a camera: never its credentials, only whether they are set.

    The addresses (`url`, `sub_url`, redacted) are for those who configure cameras; everyone
    else gets the view `without_addresses`: None there, `has_sub_stream` still telling the
    live grid which stream to ask for.
    """

    id: int
    name: str
    url: str | None
    sub_url: str | None
    has_credentials: bool
    site: str | None
    place: str
    address: str | None
    latitude: float | None
    longitude: float | None
    direction_deg: float | None
    installed_on: date | None
    signage_posted: bool
    retired: str | None
    created: str
    stream: StreamFacts | None = None  # as last recorded; None before the first segment
    # set on the answer to a change that moved the camera to another host without giving
    # its credentials again: the stored ones were dropped, not sent there
    credentials_dropped: bool = False
    has_sub_stream: bool = False

    def without_addresses(self) -> CameraView:
        """The view for a reader who does not configure cameras: where a camera is on the
        network (host, port, path) is an attack surface, not something to watch footage by."""
        return replace(self, url=None, sub_url=None, has_credentials=False)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["installed_on"] = self.installed_on.isoformat() if self.installed_on else None
        return out


@dataclass(frozen=True)
class StreamFacts:
    """The stream as the recorder last indexed it."""

    video_codec: str | None
    width: int | None
    height: int | None
    audio_codec: str | None
    audio_dropped: str | None  # the camera's audio codec MP4 cannot carry: not recorded


@dataclass(frozen=True)
class StreamTarget:
    """What the recorder needs to connect: the real URL with credentials (never logged)."""

    camera_id: int
    name: str
    url: str = field(repr=False)


CREDENTIALS_DROPPED = (
    "the camera's address moved to another host or port: its stored credentials were "
    "dropped, not sent there; give them again with the new address"
)


def _view(row: Row[Any]) -> CameraView:
    stream = None
    if row.s_video_codec is not None or row.s_audio_dropped is not None:
        stream = StreamFacts(
            row.s_video_codec, row.s_width, row.s_height, row.s_audio_codec, row.s_audio_dropped
        )
    url = redact_text(row.url)
    sub_url = redact_text(row.sub_url) if row.sub_url else None
    return CameraView(
        id=row.id,
        name=row.name,
        url=url,
        sub_url=sub_url,
        has_sub_stream=sub_url is not None,
        # a row stored before query credentials were recognised holds them in its URL
        has_credentials=row.credentials is not None or url != row.url or sub_url != row.sub_url,
        site=row.site,
        place=row.place,
        address=row.address,
        latitude=row.latitude,
        longitude=row.longitude,
        direction_deg=row.direction_deg,
        installed_on=row.installed_on,
        signage_posted=bool(row.signage_posted),
        retired=iso(row.retired_us) if row.retired_us else None,
        created=iso(row.created_us),
        stream=stream,
    )


CS = schema.camera_state
_SELECT = select(
    T,
    CS.c.video_codec.label("s_video_codec"),
    CS.c.width.label("s_width"),
    CS.c.height.label("s_height"),
    CS.c.audio_codec.label("s_audio_codec"),
    CS.c.audio_dropped.label("s_audio_dropped"),
).select_from(T.outerjoin(CS, CS.c.camera_id == T.c.id))


def _values(ctx: Context, spec: CameraSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "url": spec.url,
        "sub_url": spec.sub_url,
        "credentials": ctx.credentials.seal(spec.username, spec.password),
        "site": spec.site,
        "place": spec.place,
        "address": spec.address,
        "latitude": spec.latitude,
        "longitude": spec.longitude,
        "direction_deg": spec.direction_deg,
        "installed_on": spec.installed_on,
        "signage_posted": spec.signage_posted,
    }


def add_camera(ctx: Context, spec: CameraSpec, *, actor: str = ledger.SYSTEM) -> CameraView:
    spec = validate(spec)
    stamp = now_us()
    try:
        with ctx.engine.begin() as conn:
            new_id = conn.execute(
                insert(T).values(**_values(ctx, spec), created_us=stamp, updated_us=stamp)
            ).inserted_primary_key
            assert new_id is not None
            camera_id = int(new_id[0])
            ledger.record(
                conn,
                actor=actor,
                action=ledger.CAMERA_ADDED,
                object=f"camera:{camera_id}",
                details=_public_fields(spec),
                time_us=ctx.clock(),
            )
            return _view(_row(conn, camera_id))
    except IntegrityError as exc:
        raise CameraFieldError("name", f"a camera named {spec.name!r} already exists") from exc


def list_cameras(ctx: Context, *, include_retired: bool = False) -> list[CameraView]:
    query = _SELECT.order_by(T.c.id)
    if not include_retired:
        query = query.where(T.c.retired_us.is_(None))
    with ctx.engine.connect() as conn:
        return [_view(r) for r in conn.execute(query)]


def find_camera(ctx: Context, ref: str) -> CameraView:
    """A camera by id (digits) or by name."""
    with ctx.engine.connect() as conn:
        return _view(_row(conn, _resolve(conn, ref)))


def update_camera(
    ctx: Context, ref: str, changes: dict[str, Any], *, actor: str = ledger.SYSTEM
) -> CameraView:
    with ctx.engine.begin() as conn:
        camera_id = _resolve(conn, ref)
        row = _row(conn, camera_id)
        if row.retired_us:
            raise CameraFieldError("camera", "a retired camera cannot be changed")
        user, password = ctx.credentials.open(row.credentials)
        current = CameraSpec(
            name=row.name,
            url=row.url,
            place=row.place,
            sub_url=row.sub_url,
            username=user,
            password=password,
            site=row.site,
            address=row.address,
            latitude=row.latitude,
            longitude=row.longitude,
            direction_deg=row.direction_deg,
            installed_on=row.installed_on,
            signage_posted=bool(row.signage_posted),
        )
        current = _stored(current)
        merged, dropped = _bind_credentials(current, current.with_changes(**changes), changes)
        spec = validate(merged)
        try:
            conn.execute(
                update(T)
                .where(T.c.id == camera_id)
                .values(**_values(ctx, spec), updated_us=now_us())
            )
        except IntegrityError as exc:
            raise CameraFieldError("name", f"a camera named {spec.name!r} already exists") from exc
        changed = _changes(current, spec)
        if spec.url != current.url:  # another camera, maybe: its audio is decided anew
            conn.execute(
                update(schema.camera_state)
                .where(schema.camera_state.c.camera_id == camera_id)
                .values(audio_dropped=None)
            )
        if dropped:
            changed["credentials_dropped"] = CREDENTIALS_DROPPED
        if changed:
            ledger.record(
                conn,
                actor=actor,
                action=ledger.CAMERA_CHANGED,
                object=f"camera:{camera_id}",
                details={"name": spec.name, **changed},
                time_us=ctx.clock(),
            )
        return replace(_view(_row(conn, camera_id)), credentials_dropped=dropped)


def _endpoints(spec: CameraSpec) -> set[tuple[str, str, int] | None]:
    return {endpoint(u) for u in (spec.url, spec.sub_url) if u}


def _bind_credentials(
    current: CameraSpec, merged: CameraSpec, changes: dict[str, Any]
) -> tuple[CameraSpec, bool]:
    """The changed spec with its credentials bound to their endpoints: a field given wins,
    then credentials inside a new URL; what neither gives is the stored value while the URLs
    reach only endpoints the stored credentials were given for, and nothing once they reach
    another. True when stored credentials were dropped so."""
    from_url: dict[str, str | None] = {"username": None, "password": None}
    for name in ("url", "sub_url"):
        if changes.get(name):
            _, user, password = split_credentials(name, str(changes[name]))
            from_url["username"] = from_url["username"] or user
            from_url["password"] = from_url["password"] or password
    same = _endpoints(merged) <= _endpoints(current)

    def pick(key: str, stored: str | None) -> str | None:
        if key in changes:
            given: str | None = changes[key]
            return given
        return from_url[key] or (stored if same else None)

    user, password = pick("username", current.username), pick("password", current.password)
    dropped = not same and (
        bool(current.username and not user) or bool(current.password and not password)
    )
    return merged.with_changes(username=user, password=password), dropped


def _stored(spec: CameraSpec) -> CameraSpec:
    """A registry row as a spec, its URLs as `validate` leaves them: a row stored before
    query-string credentials were recognised has them moved out (and bound like any other)."""
    url, user, password = split_credentials("url", spec.url)
    sub_url = None
    if spec.sub_url:
        sub_url, sub_user, sub_password = split_credentials("sub_url", spec.sub_url)
        user, password = user or sub_user, password or sub_password
    return spec.with_changes(
        url=url,
        sub_url=sub_url,
        username=spec.username or user,
        password=spec.password or password,
    )


def retire_camera(ctx: Context, ref: str, *, actor: str = ledger.SYSTEM) -> CameraView:
    """Stop recording a camera. Its recordings and registry record are kept."""
    with ctx.engine.begin() as conn:
        camera_id = _resolve(conn, ref)
        retired = conn.execute(
            update(T)
            .where(T.c.id == camera_id, T.c.retired_us.is_(None))
            .values(retired_us=now_us(), updated_us=now_us())
        ).rowcount
        row = _row(conn, camera_id)
        if retired:
            ledger.record(
                conn,
                actor=actor,
                action=ledger.CAMERA_RETIRED,
                object=f"camera:{camera_id}",
                details={"name": row.name},
                time_us=ctx.clock(),
            )
        return _view(row)


def _ledger_value(value: object) -> object:
    if isinstance(value, str):
        return redact_text(value)  # a URL stored before query credentials were recognised
    return value.isoformat() if isinstance(value, date) else value


def _public_fields(spec: CameraSpec) -> dict[str, Any]:
    """A new camera's fields for the ledger: everything but the credentials' values."""
    out = {
        f.name: _ledger_value(getattr(spec, f.name))
        for f in fields(spec)
        if f.name not in SECRET_FIELDS
    }
    out["credentials"] = bool(spec.username or spec.password)
    return out


def _changes(old: CameraSpec, new: CameraSpec) -> dict[str, Any]:
    """{"fields": [names changed], "values": {name: [old, new]}} without secret values."""
    names = [f.name for f in fields(old) if getattr(old, f.name) != getattr(new, f.name)]
    if not names:
        return {}
    return {
        "fields": names,
        "values": {
            n: [_ledger_value(getattr(old, n)), _ledger_value(getattr(new, n))]
            for n in names
            if n not in SECRET_FIELDS
        },
    }


def active_targets(ctx: Context) -> list[StreamTarget]:
    """The main stream of every active camera, credentials included, for the recorder."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(T).where(T.c.retired_us.is_(None)).order_by(T.c.id)).all()
    targets = []
    for row in rows:
        user, password = ctx.credentials.open(row.credentials)
        targets.append(StreamTarget(row.id, row.name, with_credentials(row.url, user, password)))
    return targets


def stream_url(ctx: Context, camera_id: int, kind: str) -> str:
    """The URL (credentials included) of a camera's `main` or `sub` stream; main if no sub."""
    with ctx.engine.connect() as conn:
        row = _row(conn, camera_id)
    user, password = ctx.credentials.open(row.credentials)
    url = row.sub_url if kind == "sub" and row.sub_url else row.url
    return with_credentials(url, user, password)


def registry_mark(ctx: Context) -> tuple[int, int]:
    """Changes whenever a camera is added, changed or retired: a cheap test for a rescan."""
    with ctx.engine.connect() as conn:
        row = conn.execute(select(func.count(), func.max(T.c.updated_us)).select_from(T)).one()
    return int(row[0]), int(row[1] or 0)


def _resolve(conn: Connection, ref: str) -> int:
    if ref.isascii() and ref.isdigit():
        # no row has it, and the database cannot bind it (nor Python read 5000 digits)
        if len(ref) > 10 or not is_id(int(ref)):
            raise CameraNotFound(f"camera: no camera {ref[:24]!r}")
        cond = T.c.id == int(ref)
    else:
        cond = T.c.name == ref
    found = conn.execute(select(T.c.id).where(cond)).scalar_one_or_none()
    if found is None:
        raise CameraNotFound(f"camera: no camera {ref!r}")
    return int(found)


def _row(conn: Connection, camera_id: int) -> Row[Any]:
    return conn.execute(_SELECT.where(T.c.id == camera_id)).one()
