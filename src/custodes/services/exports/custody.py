"""The chain of custody after an export is made: a ledger entry for every copy of the bundle
that leaves the data directory (a download, an `--out` copy), written before the first byte,
and for every viewing of its clip."""

from __future__ import annotations

from custodes.domain import export_format as fmt
from custodes.services import ledger
from custodes.services.context import Context
from custodes.services.exports.records import ExportResult, details


def record_download(ctx: Context, export: ExportResult, *, username: str, via: str) -> None:
    """The ledger entry of a bundle leaving the data directory (before the first byte)."""
    ledger.record_now(
        ctx,
        actor=ledger.account_actor(username),
        action=ledger.EXPORT_DOWNLOADED,
        object=f"export:{export.id}",
        details={**details(export), "via": via},
    )


def record_clip_viewed(ctx: Context, export: ExportResult, *, username: str) -> None:
    """The ledger entry of a viewing of the export's clip."""
    ledger.record_now(
        ctx,
        actor=ledger.account_actor(username),
        action=ledger.MEDIA_VIEWED,
        object=f"export:{export.id}",
        details={**details(export), "file": fmt.CLIP_FILE},
    )
