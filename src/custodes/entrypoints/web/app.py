"""The FastAPI application: every route under /api/v1, OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from custodes import __version__
from custodes.adapters.live.hub import LiveHub
from custodes.entrypoints.web import api_docs, pages, pages_access
from custodes.entrypoints.web.hardening import TransportGuard
from custodes.entrypoints.web.routes import (
    access,
    accounts,
    cameras,
    exports,
    live,
    recordings,
    register,
    retention,
    session,
    system,
)
from custodes.entrypoints.web.status_codes import document_status_codes
from custodes.services import auth
from custodes.services.context import Context
from custodes.services.retention import RetentionConfigError

API = "/api/v1"
STATIC = Path(__file__).with_name("static")


def create_app(ctx: Context, *, live_linger_s: float = 10.0) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.live = LiveHub(linger_s=live_linger_s)
        try:
            yield
        finally:
            await app.state.live.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Custodes",
        version=__version__,
        description="Compliance-first public safety video image information system.",
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # served offline by api_docs (FastAPI's own page loads a CDN)
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.ctx = ctx

    @app.exception_handler(RetentionConfigError)
    async def misconfigured(_: Request, exc: RetentionConfigError) -> JSONResponse:
        """A setting the rules cannot be applied without (no jurisdiction, an unknown time
        zone): the installation's fault, said plainly, on any route — never a 500."""
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(auth.Throttled)
    @app.exception_handler(auth.Busy)
    async def waiting(_: Request, exc: Exception) -> JSONResponse:
        """A password check that must wait (429) or finds every hashing slot busy (503), on
        any route that checks one (routes/accounts.py `wait`, the one wording)."""
        assert isinstance(exc, auth.Throttled | auth.Busy)
        answer = accounts.wait(exc)
        return JSONResponse(
            {"detail": answer.detail}, status_code=answer.status_code, headers=answer.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422, less the `input` it echoes: for a missing field that is the whole
        body (a camera URL with its password, a password itself), which must not travel
        back through proxies and logs."""
        errors = [
            {k: v for k, v in e.items() if k != "input"} if isinstance(e, dict) else e
            for e in exc.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    api = APIRouter(prefix=API)
    for module in (
        session,
        accounts,
        cameras,
        recordings,
        access,
        exports,
        register,
        retention,
        live,
        system,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(pages.router)
    app.include_router(pages_access.router)
    app.include_router(api_docs.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Outermost but for Starlette's own error handler: sessions before bodies, size limits,
    # Origin, and the security headers on every answer (hardening.py).
    app.add_middleware(TransportGuard)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_status_codes(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
