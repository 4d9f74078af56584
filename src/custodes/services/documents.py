"""Approval documents: uploaded once (PDF, PNG or JPEG), hashed, kept read-only.

The file lies at documents/<sha256>.<ext> under the data directory, so the same document
uploaded twice is stored once; the row records who uploaded it, for which organisation, and
when, and the upload is a ledger entry carrying the digest. The type is judged by the file's
own first bytes, never by its name or the browser's claim.

The uploader's file name is kept as a record of what was uploaded (cleaned: no directories,
no control or bidirectional-override characters), never used to serve the file: a download
is named by us from the type found in the bytes (`document-<id>.pdf|png|jpg`), so that a
PDF/HTML polyglot uploaded as `notice.html` is saved as a .pdf and never opened as a page.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select

from custodes.adapters.db import schema
from custodes.adapters.db.limits import is_id
from custodes.domain.roles import Permission, allows
from custodes.services import ledger
from custodes.services.access import AccessError, Actor, NotAllowed, NotFound
from custodes.services.context import Context

D = schema.documents
MAX_BYTES = 20 * 1024 * 1024
NAME_MAX = 200
_DIGEST = re.compile(r"[0-9a-f]{64}")
_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)


@dataclass(frozen=True)
class Document:
    id: int
    sha256: str
    filename: str
    media_type: str
    bytes: int
    organisation_id: int
    path: Path

    @property
    def download_name(self) -> str:
        """The name the file is served under: ours, from the type found in its bytes."""
        ext = next((e for _, t, e in _SIGNATURES if t == self.media_type), "bin")
        return f"document-{self.id}.{ext}"


class DocumentGone(NotFound):
    """The row is there but its file is not, or is no longer a type we keep."""


def documents_dir(ctx: Context) -> Path:
    return ctx.data.root / "documents"


def sniff(data: bytes) -> tuple[str, str]:
    """(media type, extension) from the content; AccessError if it is none we keep."""
    for magic, media_type, ext in _SIGNATURES:
        if data.startswith(magic):
            return media_type, ext
    raise AccessError("document", "an approval document is a PDF, PNG or JPEG file")


def clean_name(filename: str) -> str:
    """The uploader's file name as recorded: its last path part (either separator), without
    control, format (e.g. U+202E RIGHT-TO-LEFT OVERRIDE, which makes "evil<U+202E>fdp.html"
    read as "evillmth.pdf") or line-separator characters, at most NAME_MAX characters;
    "document" when nothing is left."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in base if unicodedata.category(c)[0] not in "CZ" or c == " ")
    return kept.strip()[:NAME_MAX] or "document"


def upload(ctx: Context, actor: Actor, filename: str, data: bytes) -> Document:
    if not (
        allows(actor.role, Permission.REQUEST_CREATE) or allows(actor.role, Permission.REQUEST_SIGN)
    ):
        raise NotAllowed(f"the role {actor.role} files no requests, so uploads no documents")
    if not data:
        raise AccessError("document", "the file is empty")
    if len(data) > MAX_BYTES:
        raise AccessError("document", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    media_type, ext = sniff(data)
    name = clean_name(filename or "document")
    digest = hashlib.sha256(data).hexdigest()
    target = documents_dir(ctx) / f"{digest}.{ext}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o400)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        doc_id = int(
            conn.execute(
                insert(D)
                .values(
                    sha256=digest,
                    filename=name,
                    media_type=media_type,
                    bytes=len(data),
                    organisation_id=actor.organisation_id,
                    uploaded_by=actor.account_id,
                    uploaded_us=now,
                )
                .returning(D.c.id)
            ).scalar_one()
        )
        ledger.record(
            conn,
            actor=actor.ledger_actor,
            action=ledger.DOCUMENT_UPLOADED,
            object=f"document:{doc_id}",
            details={"document": doc_id, "sha256": digest, "filename": name, "bytes": len(data)},
            time_us=now,
        )
    return Document(doc_id, digest, name, media_type, len(data), actor.organisation_id, target)


def _stored(ctx: Context, digest: str) -> tuple[Path | None, str | None]:
    """The stored file of a digest and the type its first bytes show, if that type is the one
    its name says (documents/<sha256>.<ext>); (None, None) when there is none such."""
    if not _DIGEST.fullmatch(digest):
        return None, None
    for _, _, ext in _SIGNATURES:
        path = documents_dir(ctx) / f"{digest}.{ext}"
        try:
            with path.open("rb") as f:
                media_type, found = sniff(f.read(16))
        except (OSError, AccessError):
            continue
        if found == ext:
            return path, media_type
    return None, None


def get(ctx: Context, actor: Actor, document_id: int, *, read_all: bool) -> Document:
    """A document the actor's organisation uploaded (or any, for roles that read all), its
    type read again from the file's first bytes (DocumentGone when the file is missing or is
    no longer a PDF, PNG or JPEG)."""
    if not is_id(document_id):
        raise NotFound(f"no document {document_id}")
    with ctx.engine.connect() as conn:
        row = conn.execute(select(D).where(D.c.id == document_id)).first()
    if row is None or (row.organisation_id != actor.organisation_id and not read_all):
        raise NotFound(f"no document {document_id}")
    path, media_type = _stored(ctx, str(row.sha256))
    if path is None or media_type is None:
        raise DocumentGone(f"document {document_id}: its file is missing or altered")
    return Document(
        int(row.id),
        row.sha256,
        row.filename,
        media_type,
        int(row.bytes),
        int(row.organisation_id),
        path,
    )
