"""The FastAPI application: every route under /api/v1, OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from custodes import __version__
from custodes.entrypoints.web.routes import cameras, recordings, session, system
from custodes.services.context import Context

API = "/api/v1"


def create_app(ctx: Context) -> FastAPI:
    app = FastAPI(
        title="Custodes",
        version=__version__,
        description="Compliance-first public safety video image information system.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    api = APIRouter(prefix=API)
    for module in (session, cameras, recordings, system):
        api.include_router(module.router)
    app.include_router(api)
    return app
