"""A grant made the way the product makes one: a public security organ's two officers file and
sign a request with an approval document, a security manager of the operating unit approves.

Accounts and the organisation are inserted directly (they are the test's cast, not under
test here); the request, signatures, submission and approval go through services/access.py.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import insert, select

from custodes.adapters.db import schema
from custodes.domain.access_rules import Action, Basis
from custodes.domain.roles import Role
from custodes.services import access, documents
from custodes.services.context import Context
from custodes.services.grants import Grant, find

PASSWORD = "officer password 12345"
PDF = b"%PDF-1.4\n% approval document for tests\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# The cast's hashes are cheap to verify (the parameters travel in the hash; the product hashes
# new passwords with argon2-cffi's defaults, ~170 ms a check here): tests log in hundreds of times.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_hash = TEST_HASHER.hash(PASSWORD)


@dataclass(frozen=True)
class Person:
    account_id: int
    username: str
    password: str
    actor: access.Actor


@dataclass(frozen=True)
class GrantSetup:
    grant: Grant
    request_id: int
    holders: list[Person]
    manager: Person


def organisation(ctx: Context, name: str, kind: str) -> int:
    with ctx.engine.begin() as conn:
        found = conn.execute(
            select(schema.organisations.c.id).where(schema.organisations.c.name == name)
        ).scalar_one_or_none()
        if found is not None:
            return int(found)
        return int(
            conn.execute(
                insert(schema.organisations)
                .values(name=name, kind=kind, created_us=ctx.clock())
                .returning(schema.organisations.c.id)
            ).scalar_one()
        )


def person(
    ctx: Context,
    role: Role,
    organisation_id: int = access.OPERATING_UNIT_ID,
    *,
    username: str | None = None,
    work_id: str | None = None,
) -> Person:
    username = username or f"{role.value[:8]}-{secrets.token_hex(3)}"
    with ctx.engine.begin() as conn:
        account_id = int(
            conn.execute(
                insert(schema.accounts)
                .values(
                    username=username,
                    password_hash=_hash,
                    role=role.value,
                    created_us=ctx.clock(),
                    organisation_id=organisation_id,
                    display_name=username.title(),
                    work_id=work_id,
                )
                .returning(schema.accounts.c.id)
            ).scalar_one()
        )
    return Person(
        account_id,
        username,
        PASSWORD,
        access.Actor(account_id, username, role.value, organisation_id),
    )


def approved_grant(
    ctx: Context,
    *,
    camera_ids: list[int],
    start_us: int,
    end_us: int,
    action: str | Action = Action.COPY,
    destination: str = "市公安局刑侦支队 City PSB criminal investigation",
    like: GrantSetup | None = None,
) -> GrantSetup:
    """A grant held by two new officers, approved by a new manager; with `like`, by the same
    officers and manager as that earlier grant (one person holding several grants)."""
    if like is None:
        psb = organisation(ctx, "市公安局 City Public Security Bureau", "public-security")
        officers = [
            person(ctx, Role.EXTERNAL_OFFICER, psb, work_id=f"警{secrets.randbelow(10**6):06d}")
            for _ in range(2)
        ]
        manager = person(ctx, Role.SECURITY_MANAGER)
    else:
        officers, manager = like.holders, like.manager
    doc = documents.upload(ctx, officers[0].actor, "调取证据通知书.pdf", PDF)
    action = Action(action)
    request_id = access.create_request(
        ctx,
        officers[0].actor,
        access.NewRequest(
            camera_ids=tuple(camera_ids),
            start_us=start_us,
            end_us=end_us,
            action=action,
            basis=Basis.LAW_ENFORCEMENT,
            purpose="案件侦查 case investigation",
            destination=destination if action is not Action.VIEW else "",
            document_id=doc.id,
        ),
    )
    for officer in officers:
        with ctx.engine.connect() as conn:
            work_id = conn.execute(
                select(schema.accounts.c.work_id).where(schema.accounts.c.id == officer.account_id)
            ).scalar_one()
        access.sign(ctx, officer.actor, request_id, work_id)
    access.submit(ctx, officers[0].actor, request_id)
    grant_id = access.approve(ctx, manager.actor, request_id)
    with ctx.engine.connect() as conn:
        grant = find(
            conn,
            account_id=officers[0].account_id,
            camera_id=camera_ids[0],
            start_us=start_us,
            end_us=end_us,
            need=Action.VIEW,
            now_us=ctx.clock(),
        )
    assert grant is not None and grant.id == grant_id
    return GrantSetup(grant, request_id, officers, manager)
