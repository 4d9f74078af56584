"""Verify an export bundle with nothing but the bundle: no database, no network, no data
directory. Reads the directory (or the zip a download gives), hashes every file, and hands the
facts to the pure judge (domain/export_judgement.py). Optionally pins the keys to trust: a
`public-keys.jsonl`, the JSON of `custodes keys export`, a PEM public key, or a hex key.
Without them the signer stays unknown, and the report says how to pin them.

Anything unreadable — no such path, a zip cut short or corrupt, a file that cannot be read —
is a BundleUnreadable naming it, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import re
import stat
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custodes.domain import export_format as fmt
from custodes.domain import export_judgement as judgement
from custodes.services.signing import signature_ok

MAX_MANIFEST_BYTES = 64 * 1024 * 1024  # a day of 2-s segments is ~40 MB of manifest
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


class _Worded(Exception):
    """An error worded by a msgid (locale/*.po) and its parameters, its English the text."""

    def __init__(self, msgid: str, **params: object) -> None:
        self.msgid = msgid
        self.params = {name: str(value) for name, value in params.items()}
        super().__init__(msgid % self.params)


class BundleUnreadable(_Worded, OSError):
    """Not a bundle directory or zip (the message says what it is instead)."""


class KeyFileError(_Worded, ValueError):
    """The --key file holds no Ed25519 public key this reader understands."""


def verify_bundle(path: Path, *, pinned: list[str] | None = None) -> judgement.Verdict:
    return judgement.judge(read_bundle(path), signature_ok, pinned=pinned)


def read_bundle(path: Path) -> judgement.BundleFacts:
    try:
        if path.is_dir():
            return _from_dir(path)
        if path.is_file() and zipfile.is_zipfile(path):
            return _from_zip(path)
    except BundleUnreadable:
        raise
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise BundleUnreadable("%(path)s: cannot be read (%(why)s)", path=path, why=exc) from None
    except RuntimeError as exc:  # an encrypted zip entry
        raise BundleUnreadable("%(path)s: cannot be read (%(why)s)", path=path, why=exc) from None
    if not path.exists():
        raise BundleUnreadable("%(path)s: no such file or directory", path=path)
    raise BundleUnreadable("%(path)s: neither an export directory nor a zip of one", path=path)


def _sha256_file(path: Path) -> judgement.FileFacts:
    with path.open("rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return judgement.FileFacts(0, hashlib.sha256().hexdigest())
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return judgement.FileFacts(size, hashlib.sha256(mm).hexdigest())  # GIL released


def _small(read: Any, name: str) -> bytes:
    data: bytes = read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise BundleUnreadable(
            "%(name)s is larger than %(limit)s bytes", name=name, limit=MAX_MANIFEST_BYTES
        )
    return data


def _from_dir(root: Path) -> judgement.BundleFacts:
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
    if fmt.MANIFEST_FILE in regular:
        with (root / fmt.MANIFEST_FILE).open("rb") as f:
            manifest = _small(f.read, fmt.MANIFEST_FILE)
    if fmt.SIGNATURE_FILE in regular:
        with (root / fmt.SIGNATURE_FILE).open("rb") as f:
            signature = _small(f.read, fmt.SIGNATURE_FILE)
    others = [r for r in regular if r not in (fmt.MANIFEST_FILE, fmt.SIGNATURE_FILE)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        digests = dict(zip(others, pool.map(lambda r: _sha256_file(root / r), others), strict=True))
    return judgement.BundleFacts(manifest, signature, digests, sorted(odd))


def _from_zip(path: Path) -> judgement.BundleFacts:
    files: dict[str, judgement.FileFacts] = {}
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
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0: a zip tool that stores none
            if kind not in (0, stat.S_IFREG):
                odd.append(name)
                continue
            with zf.open(info) as f:
                if name == fmt.MANIFEST_FILE:
                    manifest = _small(f.read, name)
                elif name == fmt.SIGNATURE_FILE:
                    signature = _small(f.read, name)
                else:
                    h = hashlib.sha256()
                    size = 0
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
                        size += len(chunk)
                    files[name] = judgement.FileFacts(size, h.hexdigest())
    return judgement.BundleFacts(manifest, signature, files, odd)


def load_pinned_keys(path: Path) -> list[str]:
    """Public keys (hex) from a key file: `custodes keys export` output (a JSON list),
    `public-keys.jsonl`, one JSON object, a PEM public key, or hex keys one per line."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError("%(path)s: cannot read it (%(why)s)", path=path, why=exc) from None
    if "-----BEGIN PUBLIC KEY-----" in text:
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFileError(
                "%(path)s: not a PEM public key (%(why)s)", path=path, why=exc
            ) from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError("%(path)s: not an Ed25519 public key", path=path)
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return [raw.hex()]
    found: list[str] = []
    try:
        entries: Any = json.loads(text)
        entries = entries if isinstance(entries, list) else [entries]
    except (ValueError, RecursionError):
        entries = []
        for line in text.splitlines():
            line = line.strip()
            if _HEX_KEY.match(line):
                found.append(line.lower())
                continue
            try:
                entries.append(json.loads(line))
            except (ValueError, RecursionError):
                if line:
                    raise KeyFileError(
                        "%(path)s: a line is neither a hex key nor JSON", path=path
                    ) from None
    for entry in entries:
        value = entry.get("public_key") if isinstance(entry, dict) else entry
        if isinstance(value, str) and _HEX_KEY.match(value):
            found.append(value.lower())
    if not found:
        raise KeyFileError("%(path)s: no Ed25519 public key in it", path=path)
    return found


PIN_ADVICE = (  # msgid (locale/*.po)
    "To pin the installation's key, obtain its archive/public-keys.jsonl, or the output of "
    "`custodes keys export`, from the operating unit out of band (not from this bundle), then "
    "run: custodes verify-export %(bundle)s --key FILE"
)


def pin_advice(bundle: Path | str) -> str:
    return PIN_ADVICE % {"bundle": bundle}


def to_json(
    v: judgement.Verdict, *, strict: bool = False, bundle: str = "BUNDLE"
) -> dict[str, Any]:
    """The verdict as `verify-export --json` prints it. `ok` is true only for VERIFIED (exit
    status 0): consistent and signed by a pinned key; `consistent`: nothing failed."""
    m = v.manifest
    outcome = v.outcome(strict=strict)
    out: dict[str, Any] = {
        "ok": outcome is judgement.Outcome.VERIFIED,
        "status": outcome.value,
        "consistent": not v.failed,
        "signer": v.signer_trust.value,
        "failures": [str(f) for f in v.failures],
        "warnings": [str(f) for f in v.warnings],
        "pinned": v.pinned,
        "signer_key_id": v.signer_key_id,
        "checkpoint_key_ids": v.checkpoint_key_ids,
        "signed_through_seq": v.signed_through_seq,
        "unsigned_seqs": v.unsigned_seqs,
    }
    if v.signer_trust is judgement.SignerTrust.UNKNOWN:
        out["advice"] = pin_advice(bundle)
    if m is not None:
        out.update(
            {
                "export": m.export.id,
                "created": fmt.iso(m.export.created_us),
                "exporter": m.export.exporter.username,
                "camera": {"id": m.camera.id, "name": m.camera.name, "place": m.camera.place},
                "requested": {
                    "start": fmt.iso(m.requested.start_us),
                    "end": fmt.iso(m.requested.end_us),
                },
                "covered": {
                    "start": fmt.iso(m.covered.start_us),
                    "end": fmt.iso(m.covered.end_us),
                },
                "gaps": [
                    {"start": fmt.iso(g.start_us), "end": fmt.iso(g.end_us)} for g in m.covered.gaps
                ],
                "segments": len(m.segments),
                "grant": m.grant.id,
                "request": m.request.id,
                "organisation": m.request.organisation.name,
                "destination": m.request.destination,
                "clip_sha256": m.clip.sha256,
                "originals_included": m.originals_included,
                "signer_public_key": m.signer.public_key,
            }
        )
    return out
