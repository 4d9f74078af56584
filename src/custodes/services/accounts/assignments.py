"""Camera assignments: which cameras a duty operator may watch live."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select

from custodes.domain.roles import Role
from custodes.services import ledger
from custodes.services.accounts.base import (
    CA,
    AccountView,
    Actor,
    C,
    Conflict,
    Invalid,
    locked_row,
    view,
)
from custodes.services.context import Context


def set_cameras(
    ctx: Context, account_id: int, camera_ids: Iterable[int], *, actor: Actor
) -> AccountView:
    """The whole list of cameras a duty operator may watch live (replaces the old one)."""
    wanted = sorted(set(camera_ids))
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = locked_row(conn, account_id)
        if row.role != Role.DUTY_OPERATOR:
            raise Conflict(
                f"cameras are assigned to duty operators; {row.username} is {row.role}",
                "cameras",
            )
        if wanted:
            known = {
                int(r.id): r.retired_us
                for r in conn.execute(select(C.c.id, C.c.retired_us).where(C.c.id.in_(wanted)))
            }
            for cam in wanted:
                if cam not in known:
                    raise Invalid("cameras", f"no camera {cam}")
                if known[cam] is not None:
                    raise Invalid("cameras", f"camera {cam} is retired")
        before = sorted(
            int(c)
            for c in conn.execute(select(CA.c.camera_id).where(CA.c.account_id == row.id)).scalars()
        )
        if before != wanted:
            conn.execute(delete(CA).where(CA.c.account_id == row.id))
            if wanted:
                conn.execute(insert(CA), [{"account_id": row.id, "camera_id": c} for c in wanted])
            ledger.record(
                conn,
                actor=actor.name,
                action=ledger.CAMERAS_ASSIGNED,
                object=f"account:{row.username}",
                details={
                    "cameras": wanted,
                    "added": sorted(set(wanted) - set(before)),
                    "removed": sorted(set(before) - set(wanted)),
                },
                time_us=now,
            )
        return view(conn, row.id, now)
