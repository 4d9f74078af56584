"""The files of an export bundle on disk: durable writes (fsync, read-only seals), digests,
the half-made `.partial-<name>-<pid>` directories of processes that died, and the bundle read
back out as a streamed zip or a copy of its directory.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from custodes.domain import export_format as fmt

PARTIAL_PREFIX = ".partial-"
ZIP_CHUNK = 1 << 20


class BundleError(RuntimeError):
    """A bundle cannot be written out where asked; the message says why."""


# Writing --------------------------------------------------------------------------------------


def sha256_of(path: Path) -> tuple[str, int]:
    """The file's SHA-256 (hex) and size."""
    with path.open("rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return hashlib.sha256().hexdigest(), 0
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return hashlib.sha256(mm).hexdigest(), size  # releases the GIL while it hashes


def seal_file(path: Path) -> None:
    """fsync the file and make it read-only, for its owner alone (0400)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    path.chmod(0o400)


def write_new_file(path: Path, data: bytes) -> None:
    """Create `path` (it must not exist) read-only with `data`, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def partial_dir(root: Path, name: str) -> Path:
    """Where this process builds bundle `name` under `root` (its pid is the name's last
    part, so that `remove_stale_partials` knows when it died)."""
    return root / f"{PARTIAL_PREFIX}{name}-{os.getpid()}"


def remove_stale_partials(root: Path) -> None:
    """Bundles left half-made by a process that died (its pid is the name's last part)."""
    for p in root.glob(f"{PARTIAL_PREFIX}*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Reading out ----------------------------------------------------------------------------------


def bundle_files(bundle: Path) -> list[Path]:
    """The bundle's files in a stable order (manifest and signature first)."""
    first = [bundle / fmt.MANIFEST_FILE, bundle / fmt.SIGNATURE_FILE]
    rest = sorted(p for p in bundle.rglob("*") if p.is_file() and p not in first)
    return [p for p in first if p.exists()] + rest


class _Sink:
    """A write-only stream that hands back what was written since the last drain."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def zip_chunks(bundle: Path, *, prefix: str | None = None) -> Iterator[bytes]:
    """The bundle as a zip (stored: video does not compress), produced as it is read, so a
    download of gigabytes needs no temporary file. Entries lie under `prefix/` (default: the
    bundle's directory name)."""
    top = prefix if prefix is not None else bundle.name
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for path in bundle_files(bundle):
            info = zipfile.ZipInfo.from_file(path, f"{top}/{path.relative_to(bundle).as_posix()}")
            info.compress_type = zipfile.ZIP_STORED
            with path.open("rb") as src, zf.open(info, "w") as dst:
                while chunk := src.read(ZIP_CHUNK):
                    dst.write(chunk)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
    if data := sink.drain():
        yield data


def write_zip(bundle: Path, dest: Path) -> None:
    with dest.open("xb") as f:
        _write_all(f, zip_chunks(bundle))


def _write_all(f: IO[bytes], chunks: Iterator[bytes]) -> None:
    for chunk in chunks:
        f.write(chunk)
    f.flush()
    os.fsync(f.fileno())


def copy_bundle(bundle: Path, dest: Path) -> None:
    """Copy the bundle directory to `dest` (which must not exist, or be an empty directory)."""
    if dest.exists():
        if not dest.is_dir() or any(dest.iterdir()):
            raise BundleError(f"{dest} exists and is not an empty directory")
        dest.rmdir()
    shutil.copytree(bundle, dest, copy_function=shutil.copyfile)
