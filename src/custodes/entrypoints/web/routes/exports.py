"""Exports under copy grants over HTTP.

POST /exports · GET /exports · GET /exports/{id} · GET /exports/{id}/download (a zip of the
bundle) · GET /exports/{id}/clip.mp4 (for playing in the browser). Exports made in the
background, with their progress: routes/export_jobs.py (POST /exports/jobs).

Making, downloading and playing an export need a live grant of the caller's that covers the
camera and range (copy for the first two, view for playing); each refusal is a ledger entry
(services/grants.py), and so is each download, before its first byte, and each viewing of the
clip (a session's first request for it in a few minutes, whatever its byte range). Another
account's export is a 404 — the same answer as for an id that does not exist — unless the
caller's role reads the access register (security managers, auditors), who see the
metadata, never the footage without a grant of their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from custodes.adapters.bundle import zip_chunks
from custodes.domain import export_format as fmt
from custodes.domain.access_rules import Action
from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web import wording
from custodes.entrypoints.web.deps import ID_MAX, CtxDep, QueryId, SessionDep
from custodes.entrypoints.web.times import LangDep, window
from custodes.services import auth, exports, grants
from custodes.services.context import Context
from custodes.services.settings import site_timezone

router = APIRouter(prefix="/exports", tags=["exports"])


# A player fetches a clip in many range requests; the first of a session's requests for an
# export after this long without one is a new viewing (a ledger entry), whatever its range.
CLIP_VIEW_GAP_S = 300.0
_clip_viewings_lock = threading.Lock()  # the route runs in the threadpool


class ExportIn(BaseModel):
    grant_id: int = Field(ge=1, le=ID_MAX, description="The copy grant the export is made under.")
    camera_id: int = Field(ge=1, le=ID_MAX)
    start: datetime = Field(description="ISO 8601; UTC if no zone")
    end: datetime = Field(description="ISO 8601; UTC if no zone")
    watermark: bool = Field(
        False, description="Also make a re-encoded copy with a visible watermark (slow)."
    )


class ExportOut(BaseModel):
    id: str
    grant_id: int
    request_id: int
    camera_id: int
    start: str
    end: str
    start_us: int
    end_us: int
    covered_start: str
    covered_end: str
    covered_start_us: int
    covered_end_us: int
    segments: int
    bytes: int
    manifest_sha256: str
    watermarked: bool
    created_by: str
    created: str
    created_us: int
    destination: str


def _out(r: exports.ExportResult) -> ExportOut:
    return ExportOut(**r.to_json())


def _visible(ctx: Context, session: auth.Session, export_id: str) -> exports.ExportResult:
    """The export if the caller made it or reads the register; else 404 (as for no export)."""
    try:
        found = exports.get_export(ctx, export_id)
    except exports.ExportNotFound:
        found = None
    if found is None or (
        found.created_by != session.account_id
        and not allows(session.role, Permission.REGISTER_READ)
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no export {export_id}")
    return found


def _footage(
    ctx: Context, session: auth.Session, export_id: str, need: Action
) -> exports.ExportResult:
    """The export, if the caller may have its footage now: a live grant of theirs."""
    found = _visible(ctx, session, export_id)
    try:
        grants.require(
            ctx,
            account_id=session.account_id,
            username=session.username,
            camera_id=found.camera_id,
            start_us=found.start_us,
            end_us=found.end_us,
            need=need,
        )
    except grants.NoGrant:
        raise  # a 403 in the user's words, its times in the site's zone (app.py)
    if not found.path.is_dir():
        raise HTTPException(status.HTTP_410_GONE, f"export {export_id}: the bundle is gone")
    return found


def _new_clip_viewing(request: Request, session: auth.Session, export_id: str) -> bool:
    """Note this request of a session's viewing of an export's clip; True when it starts one
    (the session's first request for it, or the first after CLIP_VIEW_GAP_S without one)."""
    with _clip_viewings_lock:
        seen: dict[tuple[str, str], float] | None = getattr(
            request.app.state, "export_clip_viewings", None
        )
        if seen is None:
            seen = request.app.state.export_clip_viewings = {}
        now = time.monotonic()
        for key in [k for k, t in seen.items() if now - t > CLIP_VIEW_GAP_S]:
            del seen[key]
        key = (session.token, export_id)
        new = key not in seen
        seen[key] = now
        return new


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ExportOut)
def create(body: ExportIn, session: SessionDep, ctx: CtxDep, lang: LangDep) -> ExportOut:
    """Make a bundle of [start, end) of one camera under a copy grant (whole segments: the
    covered range is returned), within this request: for API clients that would rather wait
    than poll. Runs ffmpeg: seconds per hour of footage, minutes for a day or a watermark.
    POST /exports/jobs makes the same export in the background (202) and reports its
    progress; the grant page uses that."""
    # the one range of every time from outside (domain/instants.py)
    start_us, end_us = window(
        body.start, body.end, location="body", names=("start", "end"), lang=lang
    )
    try:
        grant = exports.require_grant(
            ctx,
            grant_id=body.grant_id,
            account_id=session.account_id,
            username=session.username,
            camera_id=body.camera_id,
            start_us=start_us,
            end_us=end_us,
        )
        result = exports.create_export(
            ctx,
            grant=grant,
            account_id=session.account_id,
            username=session.username,
            camera_id=body.camera_id,
            start_us=start_us,
            end_us=end_us,
            watermark=body.watermark,
        )
    except grants.NoGrant:
        raise  # a 403 in the user's words, its times in the site's zone (app.py)
    except exports.NothingRecorded as exc:
        said = wording.no_grant(exc, lang, site_timezone(ctx))
        raise HTTPException(status.HTTP_404_NOT_FOUND, said) from None
    except exports.NotEnoughSpace as exc:
        raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, str(exc)) from None
    except exports.ExportError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _out(result)


@router.get("", response_model=list[ExportOut])
def list_exports(
    session: SessionDep, ctx: CtxDep, grant_id: QueryId | None = None
) -> list[ExportOut]:
    """My exports, newest first (the newest 500), under one grant if `grant_id` is given;
    everyone's for the roles that read the access register."""
    everyone = allows(session.role, Permission.REGISTER_READ)
    found = exports.list_exports(
        ctx, account_id=None if everyone else session.account_id, grant_id=grant_id
    )
    return [_out(r) for r in found]


@router.get("/{export_id}", response_model=ExportOut)
def get(export_id: str, session: SessionDep, ctx: CtxDep) -> ExportOut:
    return _out(_visible(ctx, session, export_id))


@router.get(
    "/{export_id}/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "the bundle, zipped"}},
)
def download(export_id: str, session: SessionDep, ctx: CtxDep) -> StreamingResponse:
    """The bundle as a zip, streamed; recorded in the ledger before the first byte."""
    found = _footage(ctx, session, export_id, Action.COPY)
    exports.record_download(ctx, found, username=session.username, via="http")
    chunks: Iterator[bytes] = zip_chunks(found.path, prefix=f"custodes-export-{found.id}")
    headers = {
        "Content-Disposition": f'attachment; filename="custodes-export-{found.id}.zip"',
        "Cache-Control": "no-store",
        "X-Custodes-Manifest-SHA256": found.manifest_sha256,
    }
    return StreamingResponse(chunks, media_type="application/zip", headers=headers)


@router.get(
    "/{export_id}/clip.mp4",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}, "description": "the evidence clip"}},
)
def clip(export_id: str, request: Request, session: SessionDep, ctx: CtxDep) -> FileResponse:
    """The export's clip for the browser's player (byte ranges served). The first request of
    a session for the export — whatever its range — within CLIP_VIEW_GAP_S is a ledger entry:
    a player's many range requests make one entry, and no request goes unrecorded."""
    found = _footage(ctx, session, export_id, Action.VIEW)
    if _new_clip_viewing(request, session, found.id):
        exports.record_clip_viewed(ctx, found, username=session.username)
    return FileResponse(
        found.path / fmt.CLIP_FILE,
        media_type="video/mp4",
        headers={"Cache-Control": "no-store"},
    )
