"""The installation's Ed25519 signing key: key id, signing, and the public-key registry.

The key id is the first 16 hex digits of SHA-256 over the raw 32-byte public key. Every public
key ever used is kept in the `signing_keys` table and in `archive/public-keys.jsonl` (append
only, fsynced), so that checkpoints and exports can be verified with no database.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, insert, select

from custodes.adapters.db import schema
from custodes.adapters.keys import load_signing_key
from custodes.paths import DataDir

K = schema.signing_keys
PUBLIC_KEYS_FILE = "public-keys.jsonl"


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey
    key_id: str
    public_hex: str

    def sign(self, message: bytes) -> str:
        return self.key.sign(message).hex()


def signer_from_key(key: Ed25519PrivateKey) -> Signer:
    raw = _raw(key.public_key())
    return Signer(key, key_id_of(raw), raw.hex())


def load_signer(data: DataDir) -> Signer:
    return signer_from_key(load_signing_key(data.signing_key))


def signature_ok(public_hex: str, message: bytes, signature_hex: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            bytes.fromhex(signature_hex), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def register(conn: Connection, data: DataDir, signer: Signer, now_us: int) -> None:
    """Record the signer's public key (table and file) if it is not recorded yet."""
    known = conn.execute(select(K.c.key_id).where(K.c.key_id == signer.key_id)).first()
    if known is None:
        conn.execute(
            insert(K).values(key_id=signer.key_id, public_key=signer.public_hex, created_us=now_us)
        )
    if signer.key_id not in public_keys_from_file(data):
        entry = {"key_id": signer.key_id, "public_key": signer.public_hex, "created_us": now_us}
        append_line(data.archive / PUBLIC_KEYS_FILE, entry)


def public_keys(conn: Connection) -> dict[str, str]:
    return {r.key_id: r.public_key for r in conn.execute(select(K.c.key_id, K.c.public_key))}


def public_keys_from_file(data: DataDir) -> dict[str, str]:
    path = data.archive / PUBLIC_KEYS_FILE
    found: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
                found[str(entry["key_id"])] = str(entry["public_key"])
            except (ValueError, KeyError, TypeError):
                continue
    return found


def append_line(path: Path, entry: dict[str, object]) -> None:
    """Append one JSON line and fsync it (and the directory when the file is new). A line is
    written whole or not at all: a short write (a full disk) is retried and, failing, cut
    back off; a file left without its final newline by an earlier crash gets one first, so
    that a torn line never swallows the next."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    line = (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        done = 0
        try:
            while done < len(line):
                done += os.write(fd, line[done:])
            os.fsync(fd)
        except OSError:
            if os.fstat(fd).st_size == size + done:  # nobody appended since: cut ours off
                os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)
    if new:
        dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
