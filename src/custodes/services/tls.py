"""The installation's TLS certificate as a use case: made at `init`, renewed, or replaced by the
operator's own. The ledger names every certificate with the fingerprint clients can compare:
when it is renewed or installed, and when `serve` first serves one the ledger has not named
(the one `init` made, or one put in place by hand)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from custodes.adapters import tls
from custodes.adapters.db import schema
from custodes.paths import DataDir
from custodes.services import ledger
from custodes.services.context import Context

OBJECT = "tls-certificate"
ACTIONS = ("tls-served", "tls-renewed", "tls-installed")


def files(data: DataDir) -> tls.TlsFiles:
    return tls.TlsFiles(data.tls)


def current(data: DataDir) -> tls.Certificate | None:
    """The certificate in force, or None when there is none. A damaged one raises
    tls.CertificateProblem (the service refuses to start on it rather than fall back)."""
    f = files(data)
    if not f.cert.exists() and not f.key.exists():
        return None
    return tls.describe(f)


def ensure(data: DataDir, extra_names: Iterable[str] = ()) -> tls.Certificate | None:
    """Make the installation's certificate if it has none (init; `serve` on a data directory
    made before certificates were). Returns the new one, or None when one was there."""
    if current(data) is not None:
        return None
    return tls.make(files(data), [*tls.default_names(), *extra_names])


def note_served(ctx: Context, cert: tls.Certificate, actor: str) -> bool:
    """Ledger the certificate `serve` is about to serve unless the newest certificate entry
    names it already. True when an entry was written."""
    with ctx.engine.connect() as conn:
        details = conn.execute(
            select(schema.ledger.c.details)  # by ix_ledger_action_time, not a scan
            .where(schema.ledger.c.action.in_(ACTIONS))
            .order_by(schema.ledger.c.time_us.desc(), schema.ledger.c.seq.desc())
            .limit(1)
        ).scalar_one_or_none()
    if details is not None and _fingerprint_in(details) == cert.fingerprint:
        return False
    _record(ctx, cert, actor, "tls-served")
    return True


def _fingerprint_in(details: Any) -> str | None:
    try:
        raw = json.loads(details) if isinstance(details, str | bytes) else details
    except ValueError:
        return None
    value = raw.get("fingerprint_sha256") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def _record(ctx: Context, cert: tls.Certificate, actor: str, action: str) -> None:
    ledger.record_now(ctx, actor=actor, action=action, object=OBJECT, details=_details(cert))


def renew(ctx: Context, names: Iterable[str], actor: str) -> tls.Certificate:
    """A new authority and certificate for this machine's names and `names`; replaces an
    operator's certificate too (the answer says so)."""
    cert = tls.make(files(ctx.data), [*tls.default_names(), *names])
    _record(ctx, cert, actor, "tls-renewed")
    return cert


def install(ctx: Context, cert_path: Path, key_path: Path, actor: str) -> tls.Certificate:
    cert = tls.install(files(ctx.data), cert_path, key_path, datetime.now(UTC))
    _record(ctx, cert, actor, "tls-installed")
    return cert


def _details(cert: tls.Certificate) -> dict[str, Any]:
    return {
        "fingerprint_sha256": cert.fingerprint,
        "authority_fingerprint_sha256": cert.ca_fingerprint,
        "names": list(cert.names),
        "not_after": cert.not_after.isoformat(),
        "made_here": cert.made_here,
    }
