"""The local segment store: durable, read-only placement of sealed files.

Sealing a file (numbered so that a crash at any step is recoverable, see docs/SEALING.md):
  1. hash the spool file while reading it, then fsync it;
  2. hard-link it to its archive path (atomic; the spool name still exists), fsync the
     archive directory;
  3. make it read-only, for its owner alone (0400);
  4. (the caller) commit the index row;
  5. unlink the spool name.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import mmap
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from custodes.clock import to_datetime
from custodes.paths import camera_dirname

CHUNK = 1 << 20
IMMUTABLE_ENV = "CUSTODES_IMMUTABLE"  # "auto" (default): chattr +i where allowed; "off"
_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602
_FS_IMMUTABLE_FL = 0x00000010
HEAD_BYTES = 256 * 1024  # moov and the start of the first fragment: the first SPS is there


@dataclass(frozen=True)
class Digest:
    sha256: str
    size: int
    head: bytes = b""  # the first chunk read, for inspecting the header without a re-read


def hash_and_sync(path: Path, *, sync: bool = True) -> Digest:
    """SHA-256 and size of a file, hashed from its mapped pages (no copy); fsynced before
    returning (unless `sync` is False: the caller makes a group durable at once with
    `make_durable`). The first HEAD_BYTES come back for inspecting the header."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            h = hashlib.sha256()
            head = b""
        else:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                h = hashlib.sha256(mm)  # releases the GIL while it hashes
                head = mm[:HEAD_BYTES]
        if sync:
            os.fsync(f.fileno())
    return Digest(h.hexdigest(), size, head)


def hash_file(path: Path) -> Digest:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return Digest(h.hexdigest(), size)


def archive_relpath(camera_id: int, start_us: int, run_id: str, spool_name: str) -> Path:
    """Deterministic from the segment's identity, so a crashed seal is redone to the same path."""
    t = to_datetime(start_us)
    cam = camera_dirname(camera_id)
    stamp = t.strftime("%Y%m%dT%H%M%S") + f"{(start_us // 1000) % 1000:03d}Z"
    index = Path(spool_name).stem
    return Path(cam, f"{t:%Y}", f"{t:%m}", f"{t:%d}", f"{cam}_{stamp}_{run_id}_{index}.mp4")


_KNOWN_DIRS: set[Path] = set()  # archive directories made by this process


def place(spool_file: Path, archive_file: Path, *, sync: bool = True) -> None:
    """Steps 2–3: link into the archive (idempotent when the same inode is already there),
    read-only. The directory is fsynced unless `sync` is False (`make_durable` then)."""
    if archive_file.parent not in _KNOWN_DIRS:
        archive_file.parent.mkdir(parents=True, exist_ok=True)
        _KNOWN_DIRS.add(archive_file.parent)
    try:
        try:
            os.link(spool_file, archive_file)
        except FileNotFoundError:
            if not spool_file.exists():
                raise
            archive_file.parent.mkdir(parents=True, exist_ok=True)  # removed since: again
            os.link(spool_file, archive_file)
    except FileExistsError:
        if not os.path.samefile(spool_file, archive_file):
            raise FileExistsError(
                errno.EEXIST, "a different file already holds this archive path", str(archive_file)
            ) from None
    if sync:
        _fsync_dir(archive_file.parent)
    archive_file.chmod(0o400)  # read-only, and no other local user reads footage


def release_spool(spool_file: Path, *, sync: bool = True) -> None:
    """Step 5: drop the spool name once the index row is committed. Without `sync` the
    directory is not fsynced: a spool name a crash brings back beside its committed row is
    dropped by reconciliation (docs/SEALING.md)."""
    try:
        spool_file.unlink()
    except FileNotFoundError:
        return
    if sync:
        _fsync_dir(spool_file.parent)


_libc = ctypes.CDLL(None, use_errno=True)
_syncfs_works: bool | None = None


def make_durable(root: Path, files: list[Path]) -> None:
    """Steps 1–2 for a group at once: the files' data and the archive links made since the
    last call reach the disk. One syncfs(2) of the filesystem (spool and archive are on one:
    link(2) needs that) where the kernel has it; else an fsync of each file and, once, of
    each directory they and their archive links are in."""
    global _syncfs_works
    if _syncfs_works is not False:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if _libc.syncfs(fd) == 0:
                _syncfs_works = True
                return
            err = ctypes.get_errno()
            if err not in (errno.ENOSYS, errno.EINVAL):
                raise OSError(err, os.strerror(err), str(root))
            _syncfs_works = False
        finally:
            os.close(fd)
    dirs: set[Path] = set()
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        dirs.add(path.parent)
    for d in dirs:
        _fsync_dir(d)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def immutable_wanted() -> bool:
    return os.environ.get(IMMUTABLE_ENV, "auto").lower() != "off"


def _flags(fd: int) -> int:
    return int(struct.unpack("i", fcntl.ioctl(fd, _FS_IOC_GETFLAGS, struct.pack("i", 0)))[0])


def _set_immutable(path: Path, on: bool) -> bool:
    """Set or clear the file's immutable attribute (chattr +i / -i). False where the
    filesystem or the process's privileges do not allow it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        flags = _flags(fd)
        wanted = flags | _FS_IMMUTABLE_FL if on else flags & ~_FS_IMMUTABLE_FL
        if wanted != flags:
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, struct.pack("i", wanted))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def make_immutable(path: Path) -> bool:
    return immutable_wanted() and _set_immutable(path, True)


def make_mutable(path: Path) -> None:
    """Before the sweep unlinks an expired file."""
    _set_immutable(path, False)


def is_immutable(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        return bool(_flags(fd) & _FS_IMMUTABLE_FL)
    except OSError:
        return False
    finally:
        os.close(fd)


_PROBED: dict[Path, tuple[float, str]] = {}
PROBE_TTL_S = 60.0


def protection_in_force(archive_root: Path) -> str:
    """What keeps sealed files from being changed here: "immutable" (chattr +i, root on a
    filesystem that supports it) or "read-only" (mode 0400 only). Probed with a scratch file,
    at most once a minute per archive."""
    if not immutable_wanted():
        return "read-only"
    known = _PROBED.get(archive_root)
    if known is not None and time.monotonic() - known[0] < PROBE_TTL_S:
        return known[1]
    found = _probe(archive_root)
    _PROBED[archive_root] = (time.monotonic(), found)
    return found


def _probe(archive_root: Path) -> str:
    probe = archive_root / ".protection-probe"
    try:
        probe.write_bytes(b"")
        ok = _set_immutable(probe, True)
        _set_immutable(probe, False)
    except OSError:
        ok = False
    finally:
        probe.unlink(missing_ok=True)
    return "immutable" if ok else "read-only"
