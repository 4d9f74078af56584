"""GET /health (no session) and GET /status (what `custodes status --json` shows)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from custodes import __version__
from custodes.entrypoints.web.deps import CtxDep, SessionDep
from custodes.services.status import AlarmStatus, CameraStatus, camera_status, system_status

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    version: str


class StatusOut(BaseModel):
    cameras: list[CameraStatus]
    protection: str
    alarms: list[AlarmStatus]


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get("/status", response_model=StatusOut)
def status(_: SessionDep, ctx: CtxDep) -> StatusOut:
    system = system_status(ctx)
    return StatusOut(cameras=camera_status(ctx), protection=system.protection, alarms=system.alarms)
