"""Sites and camera groups over HTTP: /sites, /groups (read by whoever reads cameras, changed
by those who configure them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from custodes.domain.sites import NAME_MAX, SiteFieldError
from custodes.entrypoints.web.deps import CtxDep, PathId, field_error
from custodes.entrypoints.web.permissions import CameraConfigurer, CameraReader
from custodes.services import ledger
from custodes.services import sites as svc

router = APIRouter(tags=["sites"])

# The body's bound is the column's with room for spaces the service strips: a longer name
# is refused before it is read further.
BODY_NAME_MAX = NAME_MAX * 4


class SiteIn(BaseModel):
    name: str = Field(max_length=BODY_NAME_MAX)


class GroupIn(BaseModel):
    name: str = Field(max_length=BODY_NAME_MAX)
    site_id: int | None = None


class GroupChange(BaseModel):
    name: str | None = Field(default=None, max_length=BODY_NAME_MAX)
    site_id: int | None = None


class SitesOut(BaseModel):
    sites: list[svc.SiteView]
    groups: list[svc.GroupView]


def _invalid(exc: SiteFieldError) -> HTTPException:
    return field_error("body", exc.field, exc.message)


def _actor(session: Any) -> str:
    return ledger.account_actor(session.username)


@router.get("/sites", response_model=SitesOut)
def list_sites(session: CameraReader, ctx: CtxDep) -> SitesOut:
    return SitesOut(sites=svc.list_sites(ctx), groups=svc.list_groups(ctx))


@router.post("/sites", response_model=svc.SiteView, status_code=status.HTTP_201_CREATED)
def add_site(body: SiteIn, session: CameraConfigurer, ctx: CtxDep) -> svc.SiteView:
    try:
        return svc.add_site(ctx, body.name, actor=_actor(session))
    except SiteFieldError as exc:
        raise _invalid(exc) from None


@router.patch("/sites/{site_id}", response_model=svc.SiteView)
def rename_site(
    site_id: PathId, body: SiteIn, session: CameraConfigurer, ctx: CtxDep
) -> svc.SiteView:
    try:
        return svc.rename_site(ctx, site_id, body.name, actor=_actor(session))
    except SiteFieldError as exc:
        raise _invalid(exc) from None
    except svc.SiteNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site_id}") from None


@router.delete("/sites/{site_id}", response_model=svc.Deleted)
def delete_site(site_id: PathId, session: CameraConfigurer, ctx: CtxDep) -> svc.Deleted:
    """The site deleted; its cameras are left at no site and its groups within no site."""
    try:
        return svc.delete_site(ctx, site_id, actor=_actor(session))
    except svc.SiteNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site_id}") from None


@router.post("/groups", response_model=svc.GroupView, status_code=status.HTTP_201_CREATED)
def add_group(body: GroupIn, session: CameraConfigurer, ctx: CtxDep) -> svc.GroupView:
    try:
        return svc.add_group(ctx, body.name, body.site_id, actor=_actor(session))
    except SiteFieldError as exc:
        raise _invalid(exc) from None


@router.patch("/groups/{group_id}", response_model=svc.GroupView)
def change_group(
    group_id: PathId, body: GroupChange, session: CameraConfigurer, ctx: CtxDep
) -> svc.GroupView:
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise field_error("body", "name", "must not be null")
    try:
        return svc.change_group(ctx, group_id, changes, actor=_actor(session))
    except SiteFieldError as exc:
        raise _invalid(exc) from None
    except svc.GroupNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no group {group_id}") from None


@router.delete("/groups/{group_id}", response_model=svc.Deleted)
def delete_group(group_id: PathId, session: CameraConfigurer, ctx: CtxDep) -> svc.Deleted:
    """The group deleted; its cameras stay at their sites and in their other groups."""
    try:
        return svc.delete_group(ctx, group_id, actor=_actor(session))
    except svc.GroupNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no group {group_id}") from None
