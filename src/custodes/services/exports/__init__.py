"""Exports under copy grants: a bundle that proves its own integrity and chain of custody
(docs/EXPORTS.md). The names the entry points use; each job in its own module:

- `plan`     what an export holds, read from the index, closed by a signed checkpoint
- `files`    the bundle's video files: originals copied and checked, the clip, the watermark
- `build`    `create_export`: plan, files, manifest, signature, and the transaction recording it
- `records`  exports on record: reading and listing, the details ledger entries carry
- `custody`  the ledger entries of a bundle leaving: downloads, copies, viewings of its clip
- `progress` the build's progress, measured step by step
- `jobs`     export jobs: an export asked for now, made by the web server's worker
- `errors`   why an export cannot be made or found
"""

from __future__ import annotations

from custodes.services.exports.build import MAX_EXPORT_US, create_export, require_grant
from custodes.services.exports.custody import record_clip_viewed, record_download
from custodes.services.exports.errors import (
    ExportError,
    ExportNotFound,
    NotEnoughSpace,
    NothingRecorded,
)
from custodes.services.exports.files import watermark_text
from custodes.services.exports.records import ExportResult, get_export, list_exports

__all__ = [
    "MAX_EXPORT_US",
    "ExportError",
    "ExportNotFound",
    "ExportResult",
    "NotEnoughSpace",
    "NothingRecorded",
    "create_export",
    "get_export",
    "list_exports",
    "record_clip_viewed",
    "record_download",
    "require_grant",
    "watermark_text",
]
