"""GET /health (no session) and GET /status (what `custodes status --json` shows)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from custodes import __version__
from custodes.entrypoints.web.deps import CtxDep, SessionDep
from custodes.services.status import camera_status

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    version: str


class CameraStatusOut(BaseModel):
    id: int
    name: str
    state: str
    detail: str | None
    segments: int
    bytes: int
    newest_end: str | None
    newest_age_s: float | None
    gaps_24h: int
    gap_seconds_24h: float
    open_gap_since: str | None
    last_error: str | None
    last_error_at: str | None


class StatusOut(BaseModel):
    cameras: list[CameraStatusOut]


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get("/status", response_model=StatusOut)
def status(_: SessionDep, ctx: CtxDep) -> StatusOut:
    return StatusOut(cameras=[CameraStatusOut(**s.to_json()) for s in camera_status(ctx)])
