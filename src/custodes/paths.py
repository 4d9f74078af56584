"""Where everything lives inside one data directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_ENV = "CUSTODES_DATA"
DATABASE_URL_ENV = "CUSTODES_DATABASE_URL"


@dataclass(frozen=True)
class DataDir:
    """The layout of a Custodes data directory."""

    root: Path

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def exports(self) -> Path:
        """Export bundles, one directory each (services/exports/)."""
        return self.root / "exports"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def signing_key(self) -> Path:
        return self.keys / "signing-ed25519.pem"

    @property
    def secret_key(self) -> Path:
        """Symmetric key that encrypts stored camera credentials."""
        return self.keys / "credentials.key"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def sim(self) -> Path:
        return self.root / "sim"

    @property
    def sqlite_path(self) -> Path:
        return self.root / "custodes.db"

    def database_url(self) -> str:
        """The database URL: CUSTODES_DATABASE_URL if set, else SQLite inside the data dir."""
        return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{self.sqlite_path}"

    def camera_spool(self, camera_id: int) -> Path:
        return self.spool / camera_dirname(camera_id)

    def camera_archive(self, camera_id: int) -> Path:
        return self.archive / camera_dirname(camera_id)


def camera_dirname(camera_id: int) -> str:
    """Directory name of a camera: its stable numeric id, never its (mutable) name."""
    return f"cam{camera_id:05d}"


def resolve_data_dir(value: str | os.PathLike[str] | None) -> DataDir:
    raw = value or os.environ.get(DATA_ENV) or "./custodes-data"
    return DataDir(Path(raw).expanduser().resolve())
