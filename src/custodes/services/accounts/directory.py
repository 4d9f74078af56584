"""Reading accounts: lists, one by id or name, a duty operator's cameras."""

from __future__ import annotations

from sqlalchemy import select

from custodes.services.accounts.base import CA, A, AccountView, NotFound, view, views
from custodes.services.context import Context


def list_accounts(ctx: Context) -> list[AccountView]:
    with ctx.engine.connect() as conn:
        return views(conn, ctx.clock())


def get_account(ctx: Context, account_id: int) -> AccountView:
    with ctx.engine.connect() as conn:
        return view(conn, account_id, ctx.clock())


def find_account(ctx: Context, ref: str) -> AccountView:
    """By user name, or by id (digits) when no account has that name."""
    with ctx.engine.connect() as conn:
        found = conn.execute(select(A.c.id).where(A.c.username == ref)).scalar_one_or_none()
        if found is None and ref.isdigit():
            found = int(ref)
        if found is None:
            raise NotFound(f"no account {ref!r}", "account")
        return view(conn, int(found), ctx.clock())


def assigned_cameras(ctx: Context, account_id: int) -> frozenset[int]:
    """The cameras the account may watch live by assignment (duty operators)."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(CA.c.camera_id).where(CA.c.account_id == account_id))
        return frozenset(int(c) for c in rows.scalars())
