"""Account changes taking effect, inside the caller's transaction (rows already locked): at
once when no second person is needed, or when one confirms (pending.py). Each is a ledger
entry; `by` is the ledger actor of whoever made the change happen, `extra` says who proposed
and who confirmed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from custodes.domain.roles import Role
from custodes.services import auth, ledger, throttle
from custodes.services.accounts.base import (
    CA,
    NAME_TAKEN,
    A,
    Conflict,
    Organisation,
    changed,
    fits,
)


def insert_account(
    conn: Connection,
    *,
    username: str,
    role: Role,
    password_hash: str,
    org: Organisation,
    display_name: str | None,
    work_id: str | None,
    one_time: bool,
    credential_by: str | None,
    by: str,
    now: int,
    extra: dict[str, Any] | None = None,
) -> int:
    fits(role, org)
    if conn.execute(select(A.c.id).where(A.c.username == username)).first():
        raise Conflict(NAME_TAKEN, "username", params={"username": repr(username)})
    new = conn.execute(
        insert(A).values(
            username=username,
            password_hash=password_hash,
            role=role.value,
            created_us=now,
            organisation_id=org.id,
            display_name=display_name,
            work_id=work_id,
            credential_by=credential_by,
            password_one_time=one_time,
        )
    ).inserted_primary_key
    assert new is not None
    ledger.record(
        conn,
        actor=by,
        action=ledger.ACCOUNT_CREATED,
        object=f"account:{username}",
        details={
            "role": role.value,
            "organisation_id": org.id,
            "organisation": org.name,
            "display_name": display_name,
            "work_id": work_id,
            **(extra or {}),
        },
        time_us=now,
    )
    return int(new[0])


def apply_role(
    conn: Connection, row: Row[Any], role: Role, *, by: str, now: int, extra: dict[str, Any]
) -> None:
    unassigned: list[int] = []
    if role != Role.DUTY_OPERATOR:  # assignments mean nothing to other roles
        unassigned = sorted(
            int(c)
            for c in conn.execute(
                delete(CA).where(CA.c.account_id == row.id).returning(CA.c.camera_id)
            ).scalars()
        )
    conn.execute(update(A).where(A.c.id == row.id).values(role=role.value))
    more = {"cameras_unassigned": unassigned} if unassigned else {}
    changed(
        conn,
        by,
        row,
        now,
        change="fields",
        fields=["role"],
        values={"role": [row.role, role.value]},
        **more,
        **extra,
    )


def apply_password(
    conn: Connection,
    row: Row[Any],
    password_hash: str,
    *,
    one_time: bool,
    credential_by: str | None,
    by: str,
    now: int,
    extra: dict[str, Any],
) -> None:
    conn.execute(
        update(A)
        .where(A.c.id == row.id)
        .values(
            password_hash=password_hash,
            password_one_time=one_time,
            credential_by=credential_by,
        )
    )
    throttle.lift(conn, row.username)
    ended = auth.end_sessions(conn, row.id)
    changed(conn, by, row, now, change="password-reset", sessions_ended=ended, **extra)


def apply_enable(
    conn: Connection, row: Row[Any], *, by: str, now: int, extra: dict[str, Any]
) -> None:
    was_locked = throttle.lift(conn, row.username)
    conn.execute(update(A).where(A.c.id == row.id).values(disabled_us=None))
    changed(
        conn,
        by,
        row,
        now,
        change="enabled",
        was_disabled=row.disabled_us is not None,
        was_locked=was_locked,
        **extra,
    )


def apply_totp_removal(
    conn: Connection, row: Row[Any], *, by: str, now: int, extra: dict[str, Any]
) -> None:
    conn.execute(update(A).where(A.c.id == row.id).values(totp_secret=None, totp_last_step=None))
    changed(conn, by, row, now, change="totp-removed", **extra)
