"""Key material on disk: the Ed25519 signing key and the credentials key (both mode 0600)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_signing_key(path: Path) -> bool:
    """Create the Ed25519 signing key if absent. Returns True when a key was created."""
    if path.exists():
        return False
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(path, pem)
    return True


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def ensure_secret_key(path: Path) -> bool:
    if path.exists():
        return False
    _write_private(path, Fernet.generate_key())
    return True


class CredentialBox:
    """Encrypts camera credentials at rest so a copied database does not leak them."""

    def __init__(self, key_path: Path) -> None:
        self._fernet = Fernet(key_path.read_bytes().strip())

    def seal(self, username: str | None, password: str | None) -> bytes | None:
        if not username and not password:
            return None
        return self._fernet.encrypt(f"{username or ''}\n{password or ''}".encode())

    def open(self, token: bytes | None) -> tuple[str | None, str | None]:
        if not token:
            return None, None
        user, _, password = self._fernet.decrypt(token).decode().partition("\n")
        return user or None, password or None
