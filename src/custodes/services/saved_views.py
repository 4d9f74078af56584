"""Saved live views: a person's grids kept under names, for that account alone.

Every query is scoped to the account that asks: another person's view is neither listed nor
opened nor deleted (it answers as no view at all, so its existence is not told). A view is
checked as it comes in (domain/views.py checked_view) and shown by `shown_slots`, total over
whatever is stored: a camera retired since, or no longer shown to the person, leaves its
slot empty. Views are a person's own arrangement of the screen, not a change to the system
or access to footage: the ledger records the live viewing itself (live-viewed), not them.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from custodes.adapters.db import schema
from custodes.adapters.db.limits import is_id
from custodes.domain.views import ViewFieldError, ViewSpec, shown_slots
from custodes.services import auth
from custodes.services.cameras import list_cameras
from custodes.services.context import Context
from custodes.services.live_access import live_cameras

V = schema.saved_views


class ViewNotFound(LookupError):
    pass


@dataclass(frozen=True)
class SavedView:
    id: int
    name: str
    layout: int


@dataclass(frozen=True)
class OpenedView:
    id: int
    name: str
    layout: int
    slots: list[int | None]  # a camera id per slot, None where it is empty or not shown


def shown_live(ctx: Context, session: auth.Session) -> set[int]:
    """The cameras this person is shown live now (active ones, and only those assigned to a
    duty operator): a view's other slots open empty."""
    allowed = live_cameras(ctx, account_id=session.account_id, role=session.role)
    active = {c.id for c in list_cameras(ctx)}
    return active if allowed is None else active & set(allowed)


def list_views(ctx: Context, account_id: int) -> list[SavedView]:
    query = select(V.c.id, V.c.name, V.c.layout).where(V.c.account_id == account_id)
    with ctx.engine.connect() as conn:
        rows = conn.execute(query.order_by(V.c.name, V.c.id)).all()
    return [SavedView(int(r.id), r.name, int(r.layout)) for r in rows]


def save_view(ctx: Context, account_id: int, spec: ViewSpec) -> SavedView:
    values = {
        "account_id": account_id,
        "name": spec.name,
        "layout": spec.layout,
        "slots": json.dumps(list(spec.slots)),
        "created_us": ctx.clock(),
    }
    try:
        with ctx.engine.begin() as conn:
            new = conn.execute(insert(V).values(**values)).inserted_primary_key
            assert new is not None
    except IntegrityError:
        raise ViewFieldError("name", f"a view named {spec.name!r} already exists") from None
    return SavedView(int(new[0]), spec.name, spec.layout)


def open_view(ctx: Context, account_id: int, view_id: int, visible: Collection[int]) -> OpenedView:
    """The account's view `view_id` with only the `visible` cameras in it."""
    row = None
    if is_id(view_id):
        query = select(V).where(V.c.id == view_id, V.c.account_id == account_id)
        with ctx.engine.connect() as conn:
            row = conn.execute(query).one_or_none()
    if row is None:
        raise ViewNotFound(f"no view {view_id}")
    try:
        stored = json.loads(row.slots)
    except ValueError:
        stored = None  # not JSON: an empty grid of its layout
    slots = shown_slots(row.layout, stored, visible)
    return OpenedView(int(row.id), row.name, len(slots), slots)


def delete_view(ctx: Context, account_id: int, view_id: int) -> None:
    gone = 0
    if is_id(view_id):
        with ctx.engine.begin() as conn:
            gone = conn.execute(
                delete(V).where(V.c.id == view_id, V.c.account_id == account_id)
            ).rowcount
    if not gone:
        raise ViewNotFound(f"no view {view_id}")
