"""Sites and camera groups: create, rename, delete, and place a camera at a site and in groups.

Every change is a ledger entry in the transaction that makes it. Deleting a site leaves its
cameras at no site and its groups within no site; deleting a group takes only the group away
(its cameras stay where they are): nothing that records is ever deleted with them, and the
entry names what was moved. A camera's site name is also kept in cameras.site (the label an
export records), set on placement, renamed and cleared with the site.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from custodes.adapters.db import schema
from custodes.adapters.db.limits import is_id
from custodes.domain.sites import Group, SiteFieldError, clean_name
from custodes.services import ledger
from custodes.services.context import Context

S = schema.sites
G = schema.camera_groups
CS = schema.camera_sites
GM = schema.camera_group_members
CAM = schema.cameras


class SiteNotFound(LookupError):
    pass


class GroupNotFound(LookupError):
    pass


@dataclass(frozen=True)
class SiteView:
    id: int
    name: str
    cameras: int  # cameras placed there, retired ones included


@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    site_id: int | None
    cameras: int


@dataclass(frozen=True)
class Placement:
    camera_id: int
    site_id: int | None
    group_ids: tuple[int, ...]


@dataclass(frozen=True)
class Deleted:
    """What a deletion moved: the cameras it left at no site or out of the group, and (for a
    site) the groups it left within no site."""

    id: int
    name: str
    cameras: tuple[int, ...]
    groups: tuple[int, ...] = ()


@dataclass(frozen=True)
class Layout:
    """Everything the live tree is built from (domain/sites.py camera_tree)."""

    sites: dict[int, str]
    groups: list[Group]
    site_of: dict[int, int]
    members: dict[int, set[int]]


def list_sites(ctx: Context) -> list[SiteView]:
    count = select(func.count()).where(CS.c.site_id == S.c.id).scalar_subquery()
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(S.c.id, S.c.name, count.label("n")).order_by(S.c.name))
        return [SiteView(r.id, r.name, int(r.n)) for r in rows]


def list_groups(ctx: Context) -> list[GroupView]:
    count = select(func.count()).where(GM.c.group_id == G.c.id).scalar_subquery()
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(G.c.id, G.c.name, G.c.site_id, count.label("n")).order_by(G.c.name)
        )
        return [GroupView(r.id, r.name, r.site_id, int(r.n)) for r in rows]


def layout(ctx: Context) -> Layout:
    with ctx.engine.connect() as conn:
        sites = {int(r.id): str(r.name) for r in conn.execute(select(S.c.id, S.c.name))}
        groups = [
            Group(int(r.id), str(r.name), r.site_id)
            for r in conn.execute(select(G.c.id, G.c.name, G.c.site_id))
        ]
        site_of = {int(r.camera_id): int(r.site_id) for r in conn.execute(select(CS))}
        members: dict[int, set[int]] = {}
        for r in conn.execute(select(GM)):
            members.setdefault(int(r.group_id), set()).add(int(r.camera_id))
    return Layout(sites, groups, site_of, members)


def add_site(ctx: Context, name: str, *, actor: str = ledger.SYSTEM) -> SiteView:
    name = clean_name(name)
    try:
        with ctx.engine.begin() as conn:
            new = conn.execute(insert(S).values(name=name, created_us=ctx.clock()))
            site_id = int(new.inserted_primary_key[0])  # type: ignore[index]
            _record(ctx, conn, actor, ledger.SITE_ADDED, f"site:{site_id}", {"name": name})
    except IntegrityError:
        raise SiteFieldError("name", f"a site named {name!r} already exists") from None
    return SiteView(site_id, name, 0)


def rename_site(ctx: Context, site_id: int, name: str, *, actor: str = ledger.SYSTEM) -> SiteView:
    name = clean_name(name)
    try:
        with ctx.engine.begin() as conn:
            old = _site(conn, site_id)
            placed = _placed_at(conn, site_id)
            if old != name:
                conn.execute(update(S).where(S.c.id == site_id).values(name=name))
                _label(conn, placed, name)
                details = {"name": [old, name], "cameras": placed}
                _record(ctx, conn, actor, ledger.SITE_RENAMED, f"site:{site_id}", details)
    except IntegrityError:
        raise SiteFieldError("name", f"a site named {name!r} already exists") from None
    return SiteView(site_id, name, len(placed))


def delete_site(ctx: Context, site_id: int, *, actor: str = ledger.SYSTEM) -> Deleted:
    """The site gone; its cameras at no site, its groups within no site (both kept)."""
    with ctx.engine.begin() as conn:
        name = _site(conn, site_id)
        placed = _placed_at(conn, site_id)
        groups = [
            int(g) for g in conn.execute(select(G.c.id).where(G.c.site_id == site_id)).scalars()
        ]
        conn.execute(delete(CS).where(CS.c.site_id == site_id))
        conn.execute(update(G).where(G.c.site_id == site_id).values(site_id=None))
        conn.execute(delete(S).where(S.c.id == site_id))
        _label(conn, placed, None)
        details = {"name": name, "cameras_unassigned": placed, "groups_unsited": groups}
        _record(ctx, conn, actor, ledger.SITE_DELETED, f"site:{site_id}", details)
    return Deleted(site_id, name, tuple(placed), tuple(groups))


def add_group(
    ctx: Context, name: str, site_id: int | None = None, *, actor: str = ledger.SYSTEM
) -> GroupView:
    name = clean_name(name)
    try:
        with ctx.engine.begin() as conn:
            if site_id is not None:
                _site(conn, site_id, field="site_id")
            new = conn.execute(insert(G).values(name=name, site_id=site_id, created_us=ctx.clock()))
            group_id = int(new.inserted_primary_key[0])  # type: ignore[index]
            details = {"name": name, "site_id": site_id}
            _record(ctx, conn, actor, ledger.GROUP_ADDED, f"group:{group_id}", details)
    except IntegrityError:
        raise SiteFieldError("name", f"a group named {name!r} already exists") from None
    return GroupView(group_id, name, site_id, 0)


def change_group(
    ctx: Context, group_id: int, changes: dict[str, Any], *, actor: str = ledger.SYSTEM
) -> GroupView:
    """`changes`: a new "name", a new "site_id" (None: within no site), or both."""
    try:
        with ctx.engine.begin() as conn:
            row = _group(conn, group_id)
            name = clean_name(changes["name"]) if "name" in changes else row.name
            site_id = changes.get("site_id", row.site_id)
            if site_id is not None:
                _site(conn, site_id, field="site_id")
            changed = {
                k: [old, new]
                for k, old, new in (("name", row.name, name), ("site_id", row.site_id, site_id))
                if old != new
            }
            if changed:
                conn.execute(update(G).where(G.c.id == group_id).values(name=name, site_id=site_id))
                _record(ctx, conn, actor, ledger.GROUP_CHANGED, f"group:{group_id}", changed)
            count = _members(conn, group_id)
    except IntegrityError:
        raise SiteFieldError("name", f"a group named {name!r} already exists") from None
    return GroupView(group_id, name, site_id, len(count))


def delete_group(ctx: Context, group_id: int, *, actor: str = ledger.SYSTEM) -> Deleted:
    """The group gone; its cameras stay at their sites and in their other groups."""
    with ctx.engine.begin() as conn:
        row = _group(conn, group_id)
        members = _members(conn, group_id)
        conn.execute(delete(GM).where(GM.c.group_id == group_id))
        conn.execute(delete(G).where(G.c.id == group_id))
        details = {"name": row.name, "cameras_removed": members}
        _record(ctx, conn, actor, ledger.GROUP_DELETED, f"group:{group_id}", details)
    return Deleted(group_id, row.name, tuple(members))


def placement(ctx: Context, camera_id: int) -> Placement:
    with ctx.engine.connect() as conn:
        return _placement(conn, camera_id)


def place_camera(
    ctx: Context,
    camera_id: int,
    site_id: int | None,
    group_ids: Sequence[int],
    *,
    actor: str = ledger.SYSTEM,
) -> Placement:
    """The camera at `site_id` (None: at no site) and in exactly `group_ids`; one ledger entry
    with what was and what is, none when nothing changes. A retired camera is not placed."""
    wanted = tuple(sorted(set(group_ids)))
    with ctx.engine.begin() as conn:
        cam = conn.execute(select(CAM.c.retired_us).where(CAM.c.id == camera_id)).one_or_none()
        if cam is None:
            raise SiteFieldError("camera", f"no camera {camera_id}")
        if cam.retired_us is not None:
            raise SiteFieldError("camera", "a retired camera cannot be changed")
        site_name = _site(conn, site_id, field="site_id") if site_id is not None else None
        for g in wanted:
            _group(conn, g, field="group_ids")
        before = _placement(conn, camera_id)
        after = Placement(camera_id, site_id, wanted)
        if before == after:
            return after
        conn.execute(delete(CS).where(CS.c.camera_id == camera_id))
        if site_id is not None:
            conn.execute(insert(CS).values(camera_id=camera_id, site_id=site_id))
        conn.execute(delete(GM).where(GM.c.camera_id == camera_id))
        if wanted:
            conn.execute(insert(GM), [{"group_id": g, "camera_id": camera_id} for g in wanted])
        if before.site_id != site_id:
            _label(conn, [camera_id], site_name)
        details = {
            "site_id": [before.site_id, site_id],
            "group_ids": [list(before.group_ids), list(wanted)],
        }
        _record(ctx, conn, actor, ledger.CAMERA_PLACED, f"camera:{camera_id}", details)
    return after


def _record(
    ctx: Context, conn: Connection, actor: str, action: str, obj: str, details: dict[str, Any]
) -> None:
    ledger.record(
        conn, actor=actor, action=action, object=obj, details=details, time_us=ctx.clock()
    )


def _site(conn: Connection, site_id: int, *, field: str | None = None) -> str:
    """The site's name; SiteNotFound (a path's id), or SiteFieldError naming `field` (an id
    in a body)."""
    name = None
    if is_id(site_id):
        name = conn.execute(select(S.c.name).where(S.c.id == site_id)).scalar_one_or_none()
    if name is None:
        if field:
            raise SiteFieldError(field, f"no site {site_id}")
        raise SiteNotFound(f"no site {site_id}")
    return str(name)


def _group(conn: Connection, group_id: int, *, field: str | None = None) -> Any:
    row = None
    if is_id(group_id):
        row = conn.execute(select(G).where(G.c.id == group_id)).one_or_none()
    if row is None:
        if field:
            raise SiteFieldError(field, f"no group {group_id}")
        raise GroupNotFound(f"no group {group_id}")
    return row


def _placed_at(conn: Connection, site_id: int) -> list[int]:
    query = select(CS.c.camera_id).where(CS.c.site_id == site_id).order_by(CS.c.camera_id)
    return [int(c) for c in conn.execute(query).scalars()]


def _members(conn: Connection, group_id: int) -> list[int]:
    query = select(GM.c.camera_id).where(GM.c.group_id == group_id).order_by(GM.c.camera_id)
    return [int(c) for c in conn.execute(query).scalars()]


def _placement(conn: Connection, camera_id: int) -> Placement:
    site = conn.execute(
        select(CS.c.site_id).where(CS.c.camera_id == camera_id)
    ).scalar_one_or_none()
    groups = conn.execute(
        select(GM.c.group_id).where(GM.c.camera_id == camera_id).order_by(GM.c.group_id)
    ).scalars()
    return Placement(camera_id, site, tuple(int(g) for g in groups))


def _label(conn: Connection, camera_ids: Sequence[int], name: str | None) -> None:
    """cameras.site, the label an export records, as the managed site now says (updated_us
    untouched: where a camera is shown is no reason for the recorder to rescan)."""
    if camera_ids:
        conn.execute(update(CAM).where(CAM.c.id.in_(list(camera_ids))).values(site=name))
