"""GET (WebSocket) /cameras/{id}/live: fragmented MP4 for Media Source Extensions.

Protocol: one text message `{"mime": "video/mp4; codecs=\\"avc1.640028\\""}`, then one binary
message with the init segment, then one binary message per fragment, from a keyframe on. The
socket closes with 4401 without a session, 4404 for an unknown camera, 4503 when the camera
cannot be reached.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from custodes.adapters.live.hub import LiveHub, LiveUnavailable
from custodes.entrypoints.web.deps import SESSION_COOKIE
from custodes.services import auth
from custodes.services import cameras as camera_service
from custodes.services.context import Context

router = APIRouter(prefix="/cameras/{camera_id}", tags=["live"])


@router.websocket("/live")
async def live(
    websocket: WebSocket, camera_id: int, stream: Literal["main", "sub"] = "main"
) -> None:
    ctx: Context = websocket.app.state.ctx
    hub: LiveHub = websocket.app.state.live
    token = websocket.cookies.get(SESSION_COOKIE)
    if not token or auth.resume(ctx, token) is None:
        await websocket.close(code=4401, reason="log in first")
        return
    try:
        camera_service.find_camera(ctx, str(camera_id))
    except camera_service.CameraNotFound:
        await websocket.close(code=4404, reason=f"no camera {camera_id}")
        return
    url = camera_service.stream_url(ctx, camera_id, stream)
    await websocket.accept()
    try:
        async with hub.watch(f"{camera_id}:{stream}", url) as (source, viewer):
            assert source.init is not None
            await websocket.send_json({"mime": f'video/mp4; codecs="{source.codec}"'})
            await websocket.send_bytes(source.init)
            while (data := await viewer.queue.get()) is not None:
                await websocket.send_bytes(data)
        await websocket.close(code=4503, reason="the live stream ended")
    except LiveUnavailable as exc:
        await websocket.close(code=4503, reason=str(exc)[:120])
    except WebSocketDisconnect:
        return
