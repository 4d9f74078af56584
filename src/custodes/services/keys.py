"""Signing-key rotation and public-key export.

Rotation makes a new Ed25519 key; the old key signs the new key's id and public key (an
endorsement, kept with the new key in `signing_keys` and `archive/public-keys.jsonl`), is marked
retired, and its private half is deleted. Checkpoints made with the old key still verify (its
public half stays on record); anyone trusting the first key can follow the endorsements. The
recorder must be stopped: it holds the key in memory while it runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select, update

from custodes.adapters import recorder_lock
from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.adapters.keys import load_signing_key
from custodes.services import ledger, signing
from custodes.services.context import Context

K = schema.signing_keys
ENDORSEMENT_DOMAIN = b"custodes-key-endorsement-v1\x00"


class RotationRefused(RuntimeError):
    pass


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    public_key: str
    created_us: int
    retired_us: int | None
    endorsed_by: str | None
    endorsement: str | None


def endorsement_message(new_key_id: str, new_public_hex: str) -> bytes:
    return ENDORSEMENT_DOMAIN + new_key_id.encode("ascii") + bytes.fromhex(new_public_hex)


def export(ctx: Context) -> list[PublicKey]:
    with ctx.engine.connect() as conn:
        return [
            PublicKey(
                r.key_id, r.public_key, r.created_us, r.retired_us, r.endorsed_by, r.endorsement
            )
            for r in conn.execute(select(K).order_by(K.c.created_us))
        ]


def rotate(ctx: Context, *, actor: str) -> tuple[str, str]:
    """Returns (old key id, new key id)."""
    lock = recorder_lock.acquire(ctx.data.root)
    if lock is None:
        raise RotationRefused(
            "the recorder is running on this data directory: stop it before rotating"
        )
    try:
        return _rotate(ctx, actor)
    finally:
        recorder_lock.release(lock)


def _rotate(ctx: Context, actor: str) -> tuple[str, str]:
    old_key = load_signing_key(ctx.data.signing_key)
    old = signing.signer_from_key(old_key)
    new = signing.signer_from_key(Ed25519PrivateKey.generate())
    endorsement = old.sign(endorsement_message(new.key_id, new.public_hex))
    now = ctx.clock()
    staged = ctx.data.signing_key.with_suffix(".new")
    pem = new.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    with ctx.engine.begin() as conn:
        write_first(conn)
        signing.register(conn, ctx.data, old, now)  # the old key is on record, whatever came before
        conn.execute(update(K).where(K.c.key_id == old.key_id).values(retired_us=now))
        conn.execute(
            insert(K).values(
                key_id=new.key_id,
                public_key=new.public_hex,
                created_us=now,
                endorsed_by=old.key_id,
                endorsement=endorsement,
            )
        )
        ledger.record(
            conn,
            actor=actor,
            action=ledger.KEY_ROTATED,
            object=f"key:{new.key_id}",
            details={"retired": old.key_id, "new": new.key_id, "public_key": new.public_hex},
            time_us=now,
        )
    signing.append_line(
        ctx.data.archive / signing.PUBLIC_KEYS_FILE,
        {
            "key_id": new.key_id,
            "public_key": new.public_hex,
            "created_us": now,
            "endorsed_by": old.key_id,
            "endorsement": endorsement,
        },
    )
    os.replace(staged, ctx.data.signing_key)  # the old private key is gone from here on
    dfd = os.open(ctx.data.keys, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    ledger.checkpoint(ctx)  # the rotation entry, signed by the new key
    return old.key_id, new.key_id
