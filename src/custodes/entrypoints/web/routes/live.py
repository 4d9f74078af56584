"""Live video of a camera, two transports from the same on-demand ffmpeg.

GET (WebSocket) /cameras/{id}/live: fragmented MP4 for Media Source Extensions. Protocol: one
text message `{"mime": "video/mp4; codecs=\\"avc1.640028\\""}`, then one binary message with
the init segment, then one binary message per fragment, from a keyframe on. The socket closes
with 4401 without a session, 4403 when the account may not watch the camera, 4404 for an
unknown camera, 4503 when the camera cannot be reached; 4403 too for a handshake from another
site (an Origin that is not this one: hardening.py). The right to watch is asked again every
RECHECK_S seconds while the stream runs: a log-out, an expired session or a disabled account
closes it with 4401, an unassigned camera (or a role that lost live view) with 4403, a retired
camera with 4404 — within seconds, not at the end of the stream. HLS asks at every request.

GET /cameras/{id}/hls/{stream}/index.m3u8 and the files it names: HLS, for clients without
MSE. The stream is in the path so that the playlist's relative segment names resolve to it.

GET /cameras/{id}/snapshot: a JPEG of the camera's newest keyframe, for the same viewers; every
snapshot is a ledger entry (`snapshot-taken`, with the picture's SHA-256).

Watching is a ledger entry: once per socket when its stream starts, and once per HLS viewing
(a session's first request for a stream, or the first after HLS_VIEW_GAP_S without one), not
once per playlist or segment fetched.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import Response

from custodes.adapters.ffmpeg.snapshot import SnapshotFailed, take_snapshot
from custodes.adapters.live.hub import HLS_FILE, HLS_PLAYLIST, LiveHub, LiveUnavailable
from custodes.entrypoints.web.deps import SESSION_COOKIE, CtxDep, PathId, SessionDep
from custodes.services import auth, ledger
from custodes.services import cameras as camera_service
from custodes.services.context import Context
from custodes.services.live_access import LiveRefusal, live_right, may_watch

router = APIRouter(prefix="/cameras/{camera_id}", tags=["live"])
HLS_TYPES = {
    "m3u8": "application/vnd.apple.mpegurl",
    "mp4": "video/mp4",
    "m4s": "video/iso.segment",
}
HLS_VIEW_GAP_S = 60.0  # an HLS viewer silent this long who asks again is a new viewing


def _record_live_view(
    ctx: Context, username: str, camera_id: int, stream: str, transport: str
) -> None:
    ledger.record_now(
        ctx,
        actor=ledger.account_actor(username),
        action=ledger.LIVE_VIEWED,
        object=f"camera:{camera_id}",
        details={"stream": stream, "transport": transport},
    )


def _new_hls_viewing(request: Request, session: auth.Session, camera_id: int, stream: str) -> bool:
    """Note this request of a session's HLS viewing; True when it starts a viewing."""
    seen: dict[tuple[str, int, str], float] | None = getattr(
        request.app.state, "hls_viewings", None
    )
    if seen is None:
        seen = request.app.state.hls_viewings = {}
    now = time.monotonic()
    for key in [k for k, t in seen.items() if now - t > HLS_VIEW_GAP_S]:
        del seen[key]
    key = (session.token, camera_id, stream)
    new = key not in seen
    seen[key] = now
    return new


# Close codes and reasons (no secret in any: the reason is shown to whoever is refused).
OPEN_REFUSED = {
    LiveRefusal.SESSION: (4401, "log in first"),
    LiveRefusal.FORBIDDEN: (4403, "not allowed to watch this camera live"),
    LiveRefusal.NO_CAMERA: (4404, "no such camera"),
}
ENDED = {
    LiveRefusal.SESSION: (4401, "the session ended"),
    LiveRefusal.FORBIDDEN: (4403, "no longer allowed to watch this camera live"),
    LiveRefusal.NO_CAMERA: (4404, "the camera was removed"),
}
RECHECK_S = 2.0  # how often an open stream asks again whether its viewer may still watch


@router.websocket("/live")
async def live(
    websocket: WebSocket, camera_id: PathId, stream: Literal["main", "sub"] = "main"
) -> None:
    ctx: Context = websocket.app.state.ctx
    hub: LiveHub = websocket.app.state.live
    token = websocket.cookies.get(SESSION_COOKIE)
    right = await asyncio.to_thread(live_right, ctx, token, camera_id)
    if isinstance(right, LiveRefusal):
        code, reason = OPEN_REFUSED[right]
        await websocket.close(code=code, reason=reason)
        return
    session = right
    url = camera_service.stream_url(ctx, camera_id, stream)
    await websocket.accept()
    try:
        async with hub.watch(f"{camera_id}:{stream}", url) as (source, viewer):
            assert source.init is not None
            await asyncio.to_thread(
                _record_live_view, ctx, session.username, camera_id, stream, "mse"
            )
            await websocket.send_json({"mime": f'video/mp4; codecs="{source.codec}"'})
            await websocket.send_bytes(source.init)
            recheck = time.monotonic() + RECHECK_S
            while True:
                wait = max(0.0, recheck - time.monotonic())
                try:
                    data = await asyncio.wait_for(viewer.queue.get(), timeout=wait)
                except TimeoutError:
                    data = b""  # nothing yet: time to ask again
                if time.monotonic() >= recheck:
                    still = await asyncio.to_thread(live_right, ctx, token, camera_id)
                    if isinstance(still, LiveRefusal):
                        code, reason = ENDED[still]
                        await websocket.close(code=code, reason=reason)
                        return
                    recheck = time.monotonic() + RECHECK_S
                if data is None:
                    break
                if data:
                    await websocket.send_bytes(data)
        await websocket.close(code=4503, reason="the live stream ended")
    except LiveUnavailable as exc:
        await websocket.close(code=4503, reason=str(exc)[:120])
    except WebSocketDisconnect:
        return


@router.get(
    "/hls/{stream}/{name}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in HLS_TYPES.values()}}},
)
async def hls_file(
    request: Request,
    ctx: CtxDep,
    session: SessionDep,
    camera_id: PathId,
    stream: Literal["main", "sub"],
    name: str,
) -> Response:
    """The live HLS playlist (`index.m3u8`) or one of the files it names."""
    if not HLS_FILE.match(name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no HLS file {name!r}")
    if not may_watch(ctx, account_id=session.account_id, role=session.role, camera_id=camera_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed to watch this camera live")
    try:
        camera_service.find_camera(ctx, str(camera_id))
    except camera_service.CameraNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}") from None
    hub: LiveHub = request.app.state.live
    url = camera_service.stream_url(ctx, camera_id, stream)
    try:
        source = await hub.hls(f"{camera_id}:{stream}", url, playlist=name == HLS_PLAYLIST)
    except LiveUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    if source is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "the live stream is not running: fetch index.m3u8"
        )
    if _new_hls_viewing(request, session, camera_id, stream):
        await asyncio.to_thread(_record_live_view, ctx, session.username, camera_id, stream, "hls")
    try:
        body = await asyncio.to_thread((source.hls_dir / name).read_bytes)
    except FileNotFoundError:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"{name} is no longer (or not yet) in the playlist"
        ) from None
    cache = "no-store" if name.endswith(".m3u8") else "private, max-age=60"
    return Response(
        body,
        media_type=HLS_TYPES[name.rsplit(".", 1)[1]],
        headers={"Cache-Control": cache},
    )


@router.get(
    "/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the JPEG"}},
)
def snapshot(
    ctx: CtxDep,
    session: SessionDep,
    camera_id: PathId,
    stream: Literal["main", "sub"] = "main",
) -> Response:
    """A JPEG of what the camera sees now (its newest keyframe), for those who may watch it
    live; each one is a ledger entry with the picture's SHA-256."""
    if not may_watch(ctx, account_id=session.account_id, role=session.role, camera_id=camera_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed to watch this camera live")
    try:
        camera = camera_service.find_camera(ctx, str(camera_id))
    except camera_service.CameraNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}") from None
    if camera.retired:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {camera_id} is retired")
    url = camera_service.stream_url(ctx, camera_id, stream)
    try:
        picture = take_snapshot(url)
    except SnapshotFailed as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the camera gave no picture: {exc}"
        ) from None
    ledger.record_now(
        ctx,
        actor=ledger.account_actor(session.username),
        action=ledger.SNAPSHOT_TAKEN,
        object=f"camera:{camera_id}",
        details={
            "stream": stream,
            "bytes": len(picture),
            "sha256": hashlib.sha256(picture).hexdigest(),
        },
    )
    taken = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return Response(
        picture,
        media_type="image/jpeg",
        headers={
            "Content-Disposition": f'attachment; filename="camera-{camera_id}-{taken}.jpg"',
            "Cache-Control": "no-store",
        },
    )
