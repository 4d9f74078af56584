"""Helpers for tests of export bundles: `verify-export` as a recipient runs it, and a bundle
copied and edited as an attacker would — up to one fabricated from scratch with a new key."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from custodes.domain import export_format as fmt
from custodes.domain.chain import Checkpoint
from custodes.entrypoints.cli import app
from custodes.services import signing
from custodes.services.context import Context
from custodes.services.verify_export import verify_bundle

from .sealed import T0

SIGNER_UNKNOWN = 3  # verify-export's exit status: consistent, no key pinned


def verify_cli(bundle: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify-export", str(bundle), *extra])
    return result.exit_code, result.output


def installation_keys(ctx: Context) -> Path:
    return ctx.data.archive / signing.PUBLIC_KEYS_FILE


def copy_bundle(bundle: Path, dest: Path) -> Path:
    shutil.copytree(bundle, dest)
    for p in dest.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dest


def rewrite_manifest(bundle: Path, change: Callable[[dict[str, object]], None]) -> bytes:
    """Edit the manifest like an attacker would: parse, change, write back (same encoding)."""
    doc = json.loads((bundle / fmt.MANIFEST_FILE).read_bytes())
    change(doc)
    raw = (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
    (bundle / fmt.MANIFEST_FILE).write_bytes(raw)
    return raw


def fabricate(b: Path, attacker: signing.Signer) -> None:
    """Re-sign everything — every checkpoint, then the manifest — with a fresh key, as one
    who fabricates a bundle from scratch would: it is self-consistent."""

    def resign(doc: dict[str, object]) -> None:
        chain, camera = doc["chain"], doc["camera"]
        assert isinstance(chain, dict) and isinstance(camera, dict)
        for cp in chain["checkpoints"]:
            body = Checkpoint(camera["id"], cp["seq"], cp["link"], cp["time_us"], attacker.key_id)
            cp["key_id"], cp["signature"] = attacker.key_id, attacker.sign(body.message())
        doc["keys"] = [
            {
                "key_id": attacker.key_id,
                "public_key": attacker.public_hex,
                "created_us": T0,
                "retired_us": None,
                "endorsed_by": None,
                "endorsement": None,
            }
        ]
        doc["signer"] = {"key_id": attacker.key_id, "public_key": attacker.public_hex}

    raw = rewrite_manifest(b, resign)
    (b / fmt.SIGNATURE_FILE).write_bytes(bytes.fromhex(attacker.sign(raw)))


def assert_fabrication_fares_no_better(genuine: Path, key_file: Path, work: Path) -> None:
    """A bundle fabricated from `genuine` with a new key: consistent, so only the pinned key
    tells them apart — never fewer findings, never a better exit status than the genuine one,
    without --key "signer unknown" (not 0), with the installation's key pinned a failure."""
    b = copy_bundle(genuine, work / "fabricated")
    attacker = signing.signer_from_key(Ed25519PrivateKey.generate())
    fabricate(b, attacker)
    real, forged = verify_bundle(genuine), verify_bundle(b)
    assert not forged.failed, [str(f) for f in forged.findings]  # consistent
    assert len(forged.findings) >= len(real.findings)
    for extra in ((), ("--strict",)):
        real_code, _ = verify_cli(genuine, *extra)
        code, output = verify_cli(b, *extra)
        assert code == real_code == SIGNER_UNKNOWN, output
        assert "SIGNER UNKNOWN" in output and f"signed by key {attacker.key_id}" in output
    report = json.loads(verify_cli(b, "--json")[1])
    assert (report["ok"], report["consistent"]) == (False, True)
    assert (report["status"], report["signer"], report["exit_status"]) == (
        "signer-unknown",
        "unknown",
        SIGNER_UNKNOWN,
    )
    code, output = verify_cli(b, "--key", str(key_file))
    assert code == 1 and "NOT VERIFIED" in output
    assert f"signed by key {attacker.key_id}, which is neither a pinned key" in output
    assert verify_cli(genuine, "--key", str(key_file), "--strict")[0] == 0
