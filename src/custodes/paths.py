"""Where everything lives inside one data directory, and who may read it: only its owner.

Footage, the database (password hashes, the ledger), keys, logs, exports and documents are
for the service's own user alone. Every process that opens a data directory (the CLI, the
service, the ffmpeg it starts) makes what it writes private (`write_privately`: umask 077,
so directories 0700 and files 0600 unless a mode is given, read-only ones 0400), and `serve`
and `init` tighten a directory made too open before (`tighten`), saying what they changed.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

DATA_ENV = "CUSTODES_DATA"
DATABASE_URL_ENV = "CUSTODES_DATABASE_URL"
PRIVATE_UMASK = 0o077
# What `tighten` touches: the data directory's own entries (a directory named by mistake,
# a home directory, is not combed through), the archive (millions of sealed files, some
# immutable) only down to its camera directories: the data directory's own 0700 already
# keeps others out of everything under it.
_TREES = ("keys", "tls", "logs", "spool", "quarantine", "exports", "documents", "sim")
_SHALLOW = ("archive",)
_FILES = ("custodes.db", "recorder.lock")


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
    def tls(self) -> Path:
        """The web server's certificate and key (adapters/tls.py)."""
        return self.root / "tls"

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
    """The data directory named (or the default). The process will write there: from now on
    what it (and every child it starts) creates is private to its user."""
    write_privately()
    raw = value or os.environ.get(DATA_ENV) or "./custodes-data"
    return DataDir(Path(raw).expanduser().resolve())


def write_privately() -> None:
    """Files and directories this process and its children create are its user's alone."""
    os.umask(PRIVATE_UMASK)


def tighten(data: DataDir) -> list[str]:
    """Take group and other permissions off the data directory and its own entries (see
    _TREES, _SHALLOW, _FILES). One line per path changed, saying from what to what; a path
    that cannot be changed (immutable, not ours) is said too."""
    changed: list[str] = []
    if not data.root.is_dir():
        return changed
    _tighten_one(data.root, changed)
    for entry in sorted(data.root.iterdir()):
        tree = entry.name in _TREES or entry.name in _SHALLOW
        if not tree and not entry.name.startswith(_FILES):
            continue
        _tighten_one(entry, changed)
        if tree and entry.is_dir() and not entry.is_symlink():
            _tighten_tree(entry, changed, 1 if entry.name in _SHALLOW else None)
    return changed


def _tighten_tree(top: Path, changed: list[str], depth: int | None) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        level = len(here.relative_to(top).parts)
        if depth is not None and level >= depth:
            dirnames[:] = []
        for name in [*dirnames, *filenames] if depth is None or level < depth else []:
            _tighten_one(here / name, changed)


def _tighten_one(path: Path, changed: list[str]) -> None:
    try:
        st = path.lstat()
    except OSError:
        return
    if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
        return
    mode = stat.S_IMODE(st.st_mode)
    new = mode & 0o700
    try:
        path.chmod(new)
    except OSError as exc:
        changed.append(f"{path}: mode {mode:04o} is readable by others, cannot change it: {exc}")
        return
    changed.append(f"{path}: mode {mode:04o} → {new:04o}")
