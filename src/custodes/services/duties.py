"""The approval's separation-of-duties check: who could hold the credentials of a request's
signers and of its approver (domain/duties.py `approval_refusal`), read inside the
approval's transaction."""

from __future__ import annotations

from sqlalchemy import Connection, select

from custodes.adapters.db import schema
from custodes.domain.access_rules import Refusal
from custodes.domain.duties import Credential, approval_refusal, lineage
from custodes.services import ledger

A = schema.accounts
RS = schema.request_staff


def credentials(conn: Connection, account_ids: list[int]) -> dict[int, Credential]:
    """Who could hold each account's credential, the chain of makers followed up."""
    rows = list(conn.execute(select(A.c.id, A.c.username, A.c.credential_by)))
    made_by_of = {ledger.account_actor(r.username): r.credential_by for r in rows}
    wanted = set(account_ids)
    return {
        int(r.id): Credential(
            ledger.account_actor(r.username), r.credential_by, lineage(r.credential_by, made_by_of)
        )
        for r in rows
        if int(r.id) in wanted
    }


def approval_refusals(
    conn: Connection, request_id: int, approver_id: int, jurisdiction: str
) -> list[Refusal]:
    """[the refusal] when one person could act as every signer and as the approver, else []."""
    signers = [
        int(a)
        for a in conn.execute(
            select(RS.c.account_id).where(RS.c.request_id == request_id)
        ).scalars()
    ]
    if not signers:
        return []
    found = credentials(conn, [*signers, approver_id])
    if approver_id not in found:
        return []
    refusal = approval_refusal(
        jurisdiction, [found[s] for s in signers if s in found], found[approver_id]
    )
    return [refusal] if refusal is not None else []
