"""The camera registry over HTTP: /cameras."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from custodes.domain.camera import CameraFieldError, CameraSpec
from custodes.entrypoints.web.deps import CtxDep, PathId, field_error
from custodes.entrypoints.web.permissions import CameraConfigurer, CameraReader
from custodes.services import cameras as svc
from custodes.services import ledger

router = APIRouter(prefix="/cameras", tags=["cameras"])


class CameraFields(BaseModel):
    """Every registry field; credentials may be given apart or inside the URL."""

    name: str | None = Field(default=None, max_length=64)
    url: str | None = None
    sub_url: str | None = None
    place: str | None = Field(default=None, max_length=128)
    username: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, max_length=256)
    site: str | None = Field(default=None, max_length=128)
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    direction_deg: float | None = None
    installed_on: date | None = None
    signage_posted: bool | None = None


class CameraIn(CameraFields):
    name: str = Field(max_length=64)
    url: str
    place: str = Field(max_length=128)


# Responses are the service's own CameraView (a dataclass FastAPI serialises): one shape.
CameraOut = svc.CameraView


def _out(view: svc.CameraView) -> CameraOut:
    return view


def _invalid(exc: CameraFieldError) -> HTTPException:
    return field_error("body", exc.field, exc.message)


@router.get("", response_model=list[CameraOut])
def list_cameras(_: CameraReader, ctx: CtxDep, include_retired: bool = False) -> list[CameraOut]:
    return [_out(v) for v in svc.list_cameras(ctx, include_retired=include_retired)]


@router.get("/{camera_id}", response_model=CameraOut)
def get_camera(camera_id: PathId, _: CameraReader, ctx: CtxDep) -> CameraOut:
    return _out(_find(ctx, camera_id))


@router.post("", response_model=CameraOut, status_code=status.HTTP_201_CREATED)
def add_camera(body: CameraIn, session: CameraConfigurer, ctx: CtxDep) -> CameraOut:
    values: dict[str, Any] = body.model_dump(exclude_none=True)
    try:
        return _out(
            svc.add_camera(ctx, CameraSpec(**values), actor=ledger.account_actor(session.username))
        )
    except CameraFieldError as exc:
        raise _invalid(exc) from None


@router.patch("/{camera_id}", response_model=CameraOut)
def update_camera(
    camera_id: PathId, body: CameraFields, session: CameraConfigurer, ctx: CtxDep
) -> CameraOut:
    _find(ctx, camera_id)
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "url", "place", "signage_posted"):
        if required in changes and changes[required] is None:
            raise field_error("body", required, "must not be null")
    try:
        return _out(
            svc.update_camera(
                ctx, str(camera_id), changes, actor=ledger.account_actor(session.username)
            )
        )
    except CameraFieldError as exc:
        raise _invalid(exc) from None


@router.post("/{camera_id}/retire", response_model=CameraOut)
def retire_camera(camera_id: PathId, session: CameraConfigurer, ctx: CtxDep) -> CameraOut:
    _find(ctx, camera_id)
    return _out(
        svc.retire_camera(ctx, str(camera_id), actor=ledger.account_actor(session.username))
    )


def _find(ctx: CtxDep, camera_id: int) -> svc.CameraView:
    try:
        return svc.find_camera(ctx, str(camera_id))
    except svc.CameraNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}") from None
