"""The sites and camera groups page (/sites): the people who configure cameras add, rename
and delete the sites and groups the live page's tree is built from (services/sites.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from custodes.domain.roles import Permission, allows
from custodes.domain.sites import NAME_MAX
from custodes.entrypoints.web.deps import get_ctx
from custodes.entrypoints.web.pages import _render, _session, _to_login, forbidden_page
from custodes.services import sites as site_service

router = APIRouter(include_in_schema=False)


@router.get("/sites")
def sites_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.CAMERAS_CONFIGURE):
        return forbidden_page(request, session)
    ctx = get_ctx(request)
    sites = site_service.list_sites(ctx)
    return _render(
        request,
        "sites.html",
        session,
        sites=sites,
        site_names={s.id: s.name for s in sites},
        groups=site_service.list_groups(ctx),
        name_max=NAME_MAX,
    )
