"""GET /health (no session), GET /status (what `custodes status --json` shows), and
POST /alarms/{id}/acknowledge (an alarm no condition clears)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import status as http
from pydantic import BaseModel, Field

from custodes import __version__
from custodes.domain.roles import Permission
from custodes.entrypoints.web import said
from custodes.entrypoints.web.deps import CtxDep, PathId, SessionDep, request_language
from custodes.entrypoints.web.permissions import need
from custodes.services import alarms, auth, ledger
from custodes.services.settings import site_timezone
from custodes.services.status import (
    AlarmStatus,
    CameraStatus,
    DiskStatus,
    TlsStatus,
    camera_status,
    system_status,
)

router = APIRouter(tags=["system"])
Acknowledger = Annotated[auth.Session, Depends(need(Permission.ALARMS_ACKNOWLEDGE))]


class Health(BaseModel):
    status: str
    version: str


class StatusOut(BaseModel):
    cameras: list[CameraStatus]
    protection: str
    alarms: list[AlarmStatus]
    recorder_running: bool
    disk: DiskStatus | None
    process_arguments: str  # "hidepid=…": ffmpeg's command line hidden from other users; "none"
    tls: TlsStatus | None  # the web server's certificate: state, expiry, fingerprint


class AcknowledgeIn(BaseModel):
    note: str | None = Field(
        default=None,
        max_length=alarms.NOTE_MAX,
        description="what the person found or did; kept in the ledger entry (the UI asks for it)",
    )


class AcknowledgedOut(BaseModel):
    id: int
    kind: str
    camera_id: int | None


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(status="ok", version=__version__)


def worded(alarm: AlarmStatus, lang: str, zone: str) -> AlarmStatus:
    """The alarm with its `message` in `lang`, its instants in the site's zone; `message_key`
    and `params` as they are, for a client that words it itself (a row raised before keys has
    neither: its stored English)."""
    message = said.alarm_message(alarm.message, alarm.message_key, alarm.params, lang, zone)
    return replace(alarm, message=message)


def reasons_worded(camera: CameraStatus, lang: str) -> CameraStatus:
    """The camera with its state's detail and last error (the recorder's words) in `lang`."""
    return replace(
        camera,
        detail=said.recorder_reason(camera.detail, lang) if camera.detail else camera.detail,
        last_error=(said.recorder_reason(camera.last_error, lang) if camera.last_error else None),
    )


@router.get("/status", response_model=StatusOut)
def status(_: SessionDep, ctx: CtxDep, request: Request) -> StatusOut:
    """What `custodes status --json` shows; each alarm's `message` in the caller's language
    (the language cookie, else Accept-Language), beside its `message_key` and `params`; a
    camera's last error and detail, the recorder's words, in that language too."""
    system = system_status(ctx)
    lang = request_language(request)
    return StatusOut(
        cameras=[reasons_worded(c, lang) for c in camera_status(ctx)],
        protection=system.protection,
        alarms=[worded(a, lang, site_timezone(ctx)) for a in system.alarms],
        recorder_running=system.recorder_running,
        disk=system.disk,
        process_arguments=system.process_arguments,
        tls=system.tls,
    )


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AcknowledgedOut)
def acknowledge(
    alarm_id: PathId, session: Acknowledger, ctx: CtxDep, body: AcknowledgeIn | None = None
) -> AcknowledgedOut:
    """Close an alarm that no condition clears (footage cut short); a ledger entry with who,
    when and the note."""
    try:
        alarm = alarms.acknowledge_alarm(
            ctx,
            alarm_id,
            actor=ledger.account_actor(session.username),
            note=body.note if body else None,
        )
    except alarms.NotAcknowledgeable as exc:
        raise HTTPException(http.HTTP_409_CONFLICT, str(exc)) from None
    return AcknowledgedOut(id=alarm.id, kind=alarm.kind, camera_id=alarm.camera_id)
