"""The camera registry over HTTP: /cameras."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from custodes.domain.camera import CameraFieldError, CameraSpec
from custodes.domain.sites import SiteFieldError
from custodes.entrypoints.web.deps import CtxDep, PathId, field_error
from custodes.entrypoints.web.permissions import CameraConfigurer, CameraReader, camera_shown_to
from custodes.services import cameras as svc
from custodes.services import ledger
from custodes.services import sites as site_service

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
def list_cameras(
    session: CameraReader, ctx: CtxDep, include_retired: bool = False
) -> list[CameraOut]:
    views = svc.list_cameras(ctx, include_retired=include_retired)
    return [camera_shown_to(session, v) for v in views]


@router.get("/{camera_id}", response_model=CameraOut)
def get_camera(camera_id: PathId, session: CameraReader, ctx: CtxDep) -> CameraOut:
    return camera_shown_to(session, _find(ctx, camera_id))


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


class PlacementIn(BaseModel):
    """Where the camera is shown: at one site or none, in any number of groups."""

    site_id: int | None = None
    group_ids: list[int] = Field(default_factory=list, max_length=256)


@router.get("/{camera_id}/placement", response_model=site_service.Placement)
def get_placement(camera_id: PathId, session: CameraReader, ctx: CtxDep) -> site_service.Placement:
    _find(ctx, camera_id)
    return site_service.placement(ctx, camera_id)


@router.put("/{camera_id}/placement", response_model=site_service.Placement)
def place_camera(
    camera_id: PathId, body: PlacementIn, session: CameraConfigurer, ctx: CtxDep
) -> site_service.Placement:
    _find(ctx, camera_id)
    try:
        return site_service.place_camera(
            ctx,
            camera_id,
            body.site_id,
            body.group_ids,
            actor=ledger.account_actor(session.username),
        )
    except SiteFieldError as exc:
        raise field_error("body", exc.field, exc.message) from None


def _find(ctx: CtxDep, camera_id: int) -> svc.CameraView:
    try:
        return svc.find_camera(ctx, str(camera_id))
    except svc.CameraNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}") from None
