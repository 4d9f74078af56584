"""Saved live views over HTTP: /views, each person's own (services/saved_views.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field

from custodes.domain.roles import Permission
from custodes.domain.views import LAYOUTS, ViewFieldError, checked_view
from custodes.entrypoints.web.deps import CtxDep, PathId, field_error
from custodes.entrypoints.web.permissions import need
from custodes.services import auth
from custodes.services import saved_views as svc

router = APIRouter(prefix="/views", tags=["views"])

# Whoever watches live keeps views of it.
Watcher = Annotated[auth.Session, Depends(need(Permission.LIVE_ALL, Permission.LIVE_ASSIGNED))]


class ViewIn(BaseModel):
    name: str = Field(max_length=256)
    layout: int
    # a camera id or null per slot; ids are checked as ids (domain/views.py), any number
    # past the largest layout is refused before it is read
    slots: list[int | None] = Field(max_length=max(LAYOUTS))


@router.get("", response_model=list[svc.SavedView])
def list_views(session: Watcher, ctx: CtxDep) -> list[svc.SavedView]:
    return svc.list_views(ctx, session.account_id)


@router.post("", response_model=svc.SavedView, status_code=status.HTTP_201_CREATED)
def save_view(body: ViewIn, session: Watcher, ctx: CtxDep) -> svc.SavedView:
    try:
        spec = checked_view(body.name, body.layout, body.slots)
        return svc.save_view(ctx, session.account_id, spec)
    except ViewFieldError as exc:
        raise field_error("body", exc.field, exc.message) from None


@router.get("/{view_id}", response_model=svc.OpenedView)
def open_view(view_id: PathId, session: Watcher, ctx: CtxDep) -> svc.OpenedView:
    try:
        return svc.open_view(ctx, session.account_id, view_id, svc.shown_live(ctx, session))
    except svc.ViewNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no view {view_id}") from None


@router.delete("/{view_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_view(view_id: PathId, session: Watcher, ctx: CtxDep) -> None:
    try:
        svc.delete_view(ctx, session.account_id, view_id)
    except svc.ViewNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no view {view_id}") from None
