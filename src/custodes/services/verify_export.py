"""Verify an export bundle with nothing but the bundle: no database, no network, no data
directory. Reads the directory (or the zip a download gives), hashes every file, and hands the
facts to the pure judge (domain/export_manifest.py). Optionally pins the keys to trust: a
`public-keys.jsonl`, the JSON of `custodes keys export`, a PEM public key, or a hex key.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import re
import stat
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custodes.domain import export_manifest as em
from custodes.services.signing import signature_ok

MAX_MANIFEST_BYTES = 64 * 1024 * 1024  # a day of 2-s segments is ~40 MB of manifest
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


class BundleUnreadable(OSError):
    """Not a bundle directory or zip (the message says what it is instead)."""


class KeyFileError(ValueError):
    """The --key file holds no Ed25519 public key this reader understands."""


def verify_bundle(path: Path, *, pinned: list[str] | None = None) -> em.Verdict:
    return em.judge(read_bundle(path), signature_ok, pinned=pinned)


def read_bundle(path: Path) -> em.BundleFacts:
    if path.is_dir():
        return _from_dir(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return _from_zip(path)
    if not path.exists():
        raise BundleUnreadable(f"{path}: no such file or directory")
    raise BundleUnreadable(f"{path}: neither an export directory nor a zip of one")


def _sha256_file(path: Path) -> em.FileFacts:
    with path.open("rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return em.FileFacts(0, hashlib.sha256().hexdigest())
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return em.FileFacts(size, hashlib.sha256(mm).hexdigest())  # GIL released


def _small(read: Any, name: str) -> bytes:
    data: bytes = read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise BundleUnreadable(f"{name} is larger than {MAX_MANIFEST_BYTES} bytes")
    return data


def _from_dir(root: Path) -> em.BundleFacts:
    regular: list[str] = []
    odd: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in [*dirnames, *filenames]:
            p = base / name
            mode = os.lstat(p).st_mode
            rel = p.relative_to(root).as_posix()
            if stat.S_ISDIR(mode):
                continue
            if stat.S_ISREG(mode):
                regular.append(rel)
            else:
                odd.append(rel)
    manifest = signature = None
    if em.MANIFEST_FILE in regular:
        with (root / em.MANIFEST_FILE).open("rb") as f:
            manifest = _small(f.read, em.MANIFEST_FILE)
    if em.SIGNATURE_FILE in regular:
        with (root / em.SIGNATURE_FILE).open("rb") as f:
            signature = _small(f.read, em.SIGNATURE_FILE)
    others = [r for r in regular if r not in (em.MANIFEST_FILE, em.SIGNATURE_FILE)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        digests = dict(zip(others, pool.map(lambda r: _sha256_file(root / r), others), strict=True))
    return em.BundleFacts(manifest, signature, digests, sorted(odd))


def _from_zip(path: Path) -> em.BundleFacts:
    files: dict[str, em.FileFacts] = {}
    odd: list[str] = []
    manifest = signature = None
    with zipfile.ZipFile(path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        tops = {i.filename.split("/", 1)[0] for i in infos}
        strip = len(tops) == 1 and all("/" in i.filename for i in infos)
        seen: set[str] = set()
        for info in infos:
            name = info.filename.split("/", 1)[1] if strip else info.filename
            if name in seen:
                odd.append(f"{name} (twice in the zip)")
                continue
            seen.add(name)
            mode = info.external_attr >> 16
            if mode and not stat.S_ISREG(mode):
                odd.append(name)
                continue
            with zf.open(info) as f:
                if name == em.MANIFEST_FILE:
                    manifest = _small(f.read, name)
                elif name == em.SIGNATURE_FILE:
                    signature = _small(f.read, name)
                else:
                    h = hashlib.sha256()
                    size = 0
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
                        size += len(chunk)
                    files[name] = em.FileFacts(size, h.hexdigest())
    return em.BundleFacts(manifest, signature, files, odd)


def load_pinned_keys(path: Path) -> list[str]:
    """Public keys (hex) from a key file: `custodes keys export` output (a JSON list),
    `public-keys.jsonl`, one JSON object, a PEM public key, or hex keys one per line."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read it ({exc})") from None
    if "-----BEGIN PUBLIC KEY-----" in text:
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError as exc:
            raise KeyFileError(f"{path}: not a PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(f"{path}: not an Ed25519 public key")
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return [raw.hex()]
    found: list[str] = []
    try:
        entries: Any = json.loads(text)
        entries = entries if isinstance(entries, list) else [entries]
    except ValueError:
        entries = []
        for line in text.splitlines():
            line = line.strip()
            if _HEX_KEY.match(line):
                found.append(line.lower())
                continue
            try:
                entries.append(json.loads(line))
            except ValueError:
                if line:
                    raise KeyFileError(f"{path}: a line is neither a hex key nor JSON") from None
    for entry in entries:
        value = entry.get("public_key") if isinstance(entry, dict) else entry
        if isinstance(value, str) and _HEX_KEY.match(value):
            found.append(value.lower())
    if not found:
        raise KeyFileError(f"{path}: no Ed25519 public key in it")
    return found


def to_json(v: em.Verdict) -> dict[str, Any]:
    m = v.manifest
    out: dict[str, Any] = {
        "ok": not v.failed,
        "failures": [str(f) for f in v.findings if f.failure],
        "warnings": [str(f) for f in v.warnings],
        "pinned": v.pinned,
        "signer_key_id": v.signer_key_id,
        "checkpoint_key_ids": v.checkpoint_key_ids,
        "signed_through_seq": v.signed_through_seq,
        "unsigned_seqs": v.unsigned_seqs,
    }
    if m is not None:
        out.update(
            {
                "export": m.export_id,
                "created": em.iso(m.created_us),
                "exporter": m.exporter.username,
                "camera": {"id": m.camera.id, "name": m.camera.name, "place": m.camera.place},
                "requested": {
                    "start": em.iso(m.requested.start_us),
                    "end": em.iso(m.requested.end_us),
                },
                "covered": {"start": em.iso(m.covered.start_us), "end": em.iso(m.covered.end_us)},
                "gaps": [{"start": em.iso(g.start_us), "end": em.iso(g.end_us)} for g in m.gaps],
                "segments": len(m.segments),
                "grant": m.grant.id,
                "request": m.request.id,
                "organisation": m.request.organisation.name,
                "destination": m.request.destination,
                "clip_sha256": m.clip.sha256,
                "originals_included": m.originals_included,
                "signer_public_key": m.signer_public_key,
            }
        )
    return out
