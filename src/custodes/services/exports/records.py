"""Exports on record: what the `exports` table says about one (`ExportResult`), the details
every ledger entry about it carries, and reading and listing them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.clock import iso
from custodes.services.context import Context
from custodes.services.exports.errors import ExportNotFound

E = schema.exports
G = schema.grants
R = schema.access_requests
A = schema.accounts


@dataclass(frozen=True)
class ExportResult:
    id: str
    path: Path
    grant_id: int
    request_id: int
    camera_id: int
    start_us: int
    end_us: int
    covered_start_us: int
    covered_end_us: int
    segments: int
    bytes: int  # the whole bundle on disk
    manifest_sha256: str
    watermarked: bool
    created_by: int
    created_by_username: str
    created_us: int
    destination: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "grant_id": self.grant_id,
            "request_id": self.request_id,
            "camera_id": self.camera_id,
            "start_us": self.start_us,
            "end_us": self.end_us,
            "start": iso(self.start_us),
            "end": iso(self.end_us),
            "covered_start_us": self.covered_start_us,
            "covered_end_us": self.covered_end_us,
            "covered_start": iso(self.covered_start_us),
            "covered_end": iso(self.covered_end_us),
            "segments": self.segments,
            "bytes": self.bytes,
            "manifest_sha256": self.manifest_sha256,
            "watermarked": self.watermarked,
            "created_by": self.created_by_username,
            "created_us": self.created_us,
            "created": iso(self.created_us),
            "destination": self.destination,
        }


def details(r: ExportResult) -> dict[str, Any]:
    """What every ledger entry about the export says of it."""
    return {
        "request": r.request_id,
        "grant": r.grant_id,
        "export": r.id,
        "camera": r.camera_id,
        "start_us": r.start_us,
        "end_us": r.end_us,
        "covered_start_us": r.covered_start_us,
        "covered_end_us": r.covered_end_us,
        "segments": r.segments,
        "manifest_sha256": r.manifest_sha256,
        "destination": r.destination,
    }


def _select() -> Any:
    return select(
        E,
        G.c.request_id,
        A.c.username.label("created_by_username"),
        R.c.destination,
    ).select_from(
        E.join(G, G.c.id == E.c.grant_id)
        .join(A, A.c.id == E.c.created_by)
        .join(R, R.c.id == G.c.request_id)
    )


def _result(ctx: Context, r: Any) -> ExportResult:
    return ExportResult(
        id=r.id,
        path=ctx.data.exports / r.id,
        grant_id=int(r.grant_id),
        request_id=int(r.request_id),
        camera_id=int(r.camera_id),
        start_us=int(r.start_us),
        end_us=int(r.end_us),
        covered_start_us=int(r.covered_start_us),
        covered_end_us=int(r.covered_end_us),
        segments=int(r.segments),
        bytes=int(r.bytes),
        manifest_sha256=r.manifest_sha256,
        watermarked=bool(r.watermarked),
        created_by=int(r.created_by),
        created_by_username=r.created_by_username,
        created_us=int(r.created_us),
        destination=r.destination or "",
    )


def get_export(ctx: Context, export_id: str) -> ExportResult:
    with ctx.engine.connect() as conn:
        row = conn.execute(_select().where(E.c.id == export_id)).first()
    if row is None:
        raise ExportNotFound(f"no export {export_id}")
    return _result(ctx, row)


LIST_LIMIT = 500


def list_exports(
    ctx: Context,
    *,
    account_id: int | None = None,
    grant_id: int | None = None,
    limit: int = LIST_LIMIT,
) -> list[ExportResult]:
    """Newest first, at most `limit`; one account's (None: everyone's), under one grant
    (None: any)."""
    query = _select().order_by(E.c.created_us.desc(), E.c.id).limit(limit)
    if account_id is not None:
        query = query.where(E.c.created_by == account_id)
    if grant_id is not None:
        query = query.where(E.c.grant_id == grant_id)
    with ctx.engine.connect() as conn:
        return [_result(ctx, r) for r in conn.execute(query)]
