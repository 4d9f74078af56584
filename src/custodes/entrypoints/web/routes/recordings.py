"""Recorded time of a camera: /cameras/{id}/recordings (timeline) and /media (one MP4).

The timeline says where footage exists, not what it shows. /media plays footage, so it needs
a live grant of the session's account covering the camera and the whole range (any role: the
grant, not the role, opens recorded footage). Each /media request that finds footage is a
ledger entry (who, which camera, which range, under which grant), committed before the first
byte is sent: no footage leaves without its record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from custodes.adapters.ffmpeg.clip import (
    Piece,
    clip_command,
    end_clear_of,
    init_segment,
    media_origin,
    start_clear_of,
    stop_clip,
    write_concat_list,
)
from custodes.clock import iso
from custodes.domain.access_rules import Action
from custodes.entrypoints.web import said
from custodes.entrypoints.web.deps import CtxDep, PathId, SessionDep, field_error
from custodes.entrypoints.web.permissions import CameraReader
from custodes.entrypoints.web.times import LangDep, window
from custodes.services import cameras as camera_service
from custodes.services import grants, ledger
from custodes.services.recordings import segments_between, timeline

router = APIRouter(prefix="/cameras/{camera_id}", tags=["recordings"])
MAX_TIMELINE_DAYS = 31
MAX_MEDIA_HOURS = 2
CHUNK = 64 * 1024
AUDIO_CODECS_MAX = 200
AUDIO_CODECS_PATTERN = r"^[A-Za-z0-9.\-]{1,32}(,[A-Za-z0-9.\-]{1,32})*$"


class SpanOut(BaseModel):
    start: str
    end: str
    start_us: int
    end_us: int
    segments: int
    bytes: int


class GapOut(BaseModel):
    start: str
    end: str | None
    start_us: int
    end_us: int | None
    reason: str


class TimelineOut(BaseModel):
    camera_id: int
    start_us: int
    end_us: int
    spans: list[SpanOut]
    gaps: list[GapOut]


def _window(
    start: datetime, end: datetime, names: tuple[str, str], max_us: int, what: str, lang: str
) -> tuple[int, int]:
    """The query's window: both ends in the one range (domain/instants.py), end after start,
    at most `max_us` long."""
    a, b = window(start, end, location="query", names=names, lang=lang)
    if b - a > max_us:
        raise field_error("query", names[1], f"the window is limited to {what}")
    return a, b


def _check_camera(ctx: CtxDep, camera_id: int) -> None:
    try:
        camera_service.find_camera(ctx, str(camera_id))
    except camera_service.CameraNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}") from None


@router.get("/recordings", response_model=TimelineOut)
def recordings(
    camera_id: PathId,
    _: CameraReader,
    ctx: CtxDep,
    lang: LangDep,
    start: Annotated[datetime, Query(alias="from", description="ISO 8601; UTC if no zone")],
    end: Annotated[datetime, Query(alias="to", description="ISO 8601; UTC if no zone")],
) -> TimelineOut:
    """Recorded spans and gaps overlapping the window, clipped to it."""
    a, b = _window(start, end, ("from", "to"), MAX_TIMELINE_DAYS * 86_400_000_000, "31 days", lang)
    _check_camera(ctx, camera_id)
    t = timeline(ctx, camera_id, a, b)
    return TimelineOut(
        camera_id=camera_id,
        start_us=a,
        end_us=b,
        spans=[
            SpanOut(
                start=iso(s.start_us),
                end=iso(s.end_us),
                start_us=s.start_us,
                end_us=s.end_us,
                segments=s.segments,
                bytes=s.bytes,
            )
            for s in t.spans
        ],
        gaps=[
            GapOut(
                start=iso(g.start_us),
                end=iso(g.end_us) if g.end_us is not None else None,
                start_us=g.start_us,
                end_us=g.end_us,
                reason=said.recorder_reason(g.reason, lang),
            )
            for g in t.gaps
        ],
    )


@router.get(
    "/media",
    response_class=StreamingResponse,
    responses={200: {"content": {"video/mp4": {}}, "description": "fragmented MP4"}},
)
async def media(
    camera_id: PathId,
    session: SessionDep,
    ctx: CtxDep,
    lang: LangDep,
    start: Annotated[datetime, Query(description="ISO 8601; UTC if no zone")],
    end: Annotated[datetime, Query(description="ISO 8601; UTC if no zone")],
    audio: Annotated[bool, Query(description="false: the video track alone")] = True,
    audio_codecs: Annotated[
        str | None,
        Query(
            max_length=AUDIO_CODECS_MAX,
            pattern=AUDIO_CODECS_PATTERN,
            description=(
                "the audio codecs the client plays (RFC 6381, comma-separated, e.g. "
                "`mp4a.40.2,opus`, in any case): recorded sound in another is left out, as with "
                "audio=false, so that a client need not ask twice (two views on record)"
            ),
        ),
    ] = None,
) -> StreamingResponse:
    """One MP4 of [start, end): stream copy, from the keyframe at or before `start`. The
    `X-Custodes-Codecs` header gives the RFC 6381 codecs of its tracks, video first (e.g.
    `avc1.640028,mp4a.40.2`; the video alone with `audio=false` or no recorded audio), for a
    Media Source Extensions buffer. `X-Custodes-Media-Start-Us` is the instant (µs since
    1970) at the MP4's time 0: up to a GOP before `start`, where that keyframe lies."""
    a, b = _window(start, end, ("start", "end"), MAX_MEDIA_HOURS * 3_600_000_000, "2 hours", lang)
    _check_camera(ctx, camera_id)
    try:
        grant = await asyncio.to_thread(
            grants.require,
            ctx,
            account_id=session.account_id,
            username=session.username,
            camera_id=camera_id,
            start_us=a,
            end_us=b,
            need=Action.VIEW,
        )
    except grants.NoGrant:
        raise  # a 403 in the user's words, its times in the site's zone (app.py)
    refs = segments_between(ctx, camera_id, a, b)
    if not refs:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "nothing recorded in that range")
    await asyncio.to_thread(
        ledger.record_now,
        ctx,
        actor=ledger.account_actor(session.username),
        action=ledger.MEDIA_VIEWED,
        object=f"camera:{camera_id}",
        details={
            "request": grant.request_id,
            "grant": grant.id,
            "camera": camera_id,
            "start_us": a,
            "end_us": b,
            "start": iso(a),
            "end": iso(b),
            "segments": len(refs),
        },
    )
    pieces = [Piece(ctx.data.archive / r.path, r.start_us, r.end_us) for r in refs]
    # stream copy starts at a keyframe: never one before the grant's start
    clear = await start_clear_of(pieces, a, grant.start_us)
    if clear is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "nothing recorded in that range")
    pieces, first_us = clear
    pieces, cut_us = end_clear_of(pieces, b)  # and never one after the end
    if not pieces or first_us >= cut_us:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "nothing recorded in that range")
    list_file = write_concat_list(pieces, first_us, cut_us)
    try:
        proc, head, codec, origin_us = await _clip(list_file, pieces, first_us, audio)
        sound = codec.split(",", 1)[1] if codec is not None and "," in codec else None
        takes = None if audio_codecs is None else set(audio_codecs.lower().split(","))
        if sound is not None and takes is not None and sound.lower() not in takes:
            await stop_clip(proc)  # sound the client cannot play: the video alone
            proc, head, codec, origin_us = await _clip(list_file, pieces, first_us, False)
    except BaseException:
        list_file.unlink(missing_ok=True)
        raise
    assert proc.stdout is not None
    stdout = proc.stdout

    async def body() -> AsyncIterator[bytes]:
        try:
            if head:
                yield head
            while chunk := await stdout.read(CHUNK):
                yield chunk
        finally:
            # a viewer who leaves cancels this: the list goes first, and the wait is shielded
            # (in a cancelled scope every await raises at once: the list stayed behind)
            list_file.unlink(missing_ok=True)
            with anyio.CancelScope(shield=True):
                await stop_clip(proc)

    headers = {
        "X-Custodes-Requested": f"{iso(a)}/{iso(b)}",
        "X-Custodes-Segments": str(len(pieces)),
        "Cache-Control": "no-store",
    }
    if codec is not None:
        headers["X-Custodes-Codecs"] = codec
    if origin_us is not None:
        headers["X-Custodes-Media-Start-Us"] = str(origin_us)
    return StreamingResponse(body(), media_type="video/mp4", headers=headers)


async def _clip(
    list_file: Path, pieces: list[Piece], first_us: int, audio: bool
) -> tuple[asyncio.subprocess.Process, bytes, str | None, int | None]:
    """The clip's ffmpeg, started, with what it sent up to its init segment, the codecs that
    names and the instant at its time 0 (clip.py); stopped again should that fail."""
    origin = asyncio.create_task(media_origin(list_file, pieces, first_us, audio))
    proc = await asyncio.create_subprocess_exec(
        *clip_command(list_file, audio=audio),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    stdout = proc.stdout
    try:
        head, codec = await init_segment(lambda: stdout.read(CHUNK))
        origin_us = await origin
    except BaseException:  # cancelled too: what follows is shielded, or it would not run
        origin.cancel()
        with anyio.CancelScope(shield=True):
            await stop_clip(proc)
            with contextlib.suppress(BaseException):
                await origin
        raise
    return proc, head, codec, origin_us
