"""The FastAPI application: every route under /api/v1, OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from custodes import __version__
from custodes.adapters.live.hub import LiveHub
from custodes.domain.transport import Transport
from custodes.entrypoints.web import (
    api_docs,
    invalid,
    pages,
    pages_access,
    pages_bookmarks,
    pages_health,
    pages_ledger,
    pages_playback,
    pages_retention,
    pages_sites,
    wording,
)
from custodes.entrypoints.web.deps import request_language
from custodes.entrypoints.web.export_worker import ExportWorker
from custodes.entrypoints.web.hardening import IN_PROCESS, TransportGuard
from custodes.entrypoints.web.routes import (
    access,
    accounts,
    bookmarks,
    cameras,
    export_jobs,
    exports,
    live,
    recordings,
    register,
    retention,
    session,
    sites,
    system,
    views,
)
from custodes.entrypoints.web.status_codes import document_status_codes
from custodes.services import auth, grants
from custodes.services.context import Context
from custodes.services.retention import RetentionConfigError
from custodes.services.settings import site_timezone

API = "/api/v1"
STATIC = Path(__file__).with_name("static")


def create_app(
    ctx: Context,
    *,
    live_linger_s: float = 10.0,
    transport: Transport = IN_PROCESS,
    run_export_jobs: bool = True,
) -> FastAPI:
    """The application; with `run_export_jobs`, its lifespan runs the export worker (the queued
    export jobs are made in this process: export_worker.py)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.live = LiveHub(linger_s=live_linger_s)
        worker = ExportWorker(ctx) if run_export_jobs else None
        app.state.export_worker = worker
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                await run_in_threadpool(worker.stop)
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
    async def waiting(request: Request, exc: Exception) -> JSONResponse:
        """A password check that must wait (429) or finds every hashing slot busy (503), on
        any route that checks one (routes/accounts.py `wait`, the one wording)."""
        assert isinstance(exc, auth.Throttled | auth.Busy)
        answer = accounts.wait(exc)
        said = invalid.sentence(str(answer.detail), request_language(request))
        return JSONResponse(
            {"detail": said}, status_code=answer.status_code, headers=answer.headers
        )

    @app.exception_handler(grants.NoGrant)
    async def no_grant(request: Request, exc: grants.NoGrant) -> JSONResponse:
        """No grant allows the access (403, recorded in the ledger by the service): said in
        the request's language, its times in the site's time zone, on every route."""
        zone = await run_in_threadpool(site_timezone, request.app.state.ctx)
        words = wording.no_grant(exc, request_language(request), zone)
        return JSONResponse({"detail": words}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422 in the request's language, each field named by its label
        (invalid.py), less the `input` it echoes."""
        errors = invalid.localise(list(exc.errors()), request_language(request))
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, exc: StarletteHTTPException) -> Response:
        """A route's own 422 (deps.py `field_error`) worded like FastAPI's, and a refusal's
        text (403, 404, 507: "no request 7") in the request's language (invalid.py); any other
        answer as FastAPI gives it."""
        if exc.status_code == 422 and isinstance(exc.detail, list):
            errors = invalid.localise(exc.detail, request_language(request))
            return JSONResponse(
                {"detail": jsonable_encoder(errors)}, status_code=422, headers=exc.headers
            )
        if exc.status_code >= 400 and isinstance(exc.detail, str):
            said = invalid.sentence(exc.detail, request_language(request))
            return JSONResponse({"detail": said}, status_code=exc.status_code, headers=exc.headers)
        return await http_exception_handler(request, exc)

    api = APIRouter(prefix=API)
    for module in (
        session,
        accounts,
        cameras,
        recordings,
        bookmarks,
        access,
        export_jobs,  # before exports: /exports/jobs is not an export's id
        exports,
        register,
        retention,
        live,
        system,
        sites,
        views,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(pages.router)
    app.include_router(pages_access.router)
    app.include_router(pages_ledger.router)
    app.include_router(pages_health.router)
    app.include_router(pages_playback.router)
    app.include_router(pages_retention.router)
    app.include_router(pages_bookmarks.router)
    app.include_router(pages_sites.router)
    app.include_router(api_docs.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Outermost but for Starlette's own error handler: sessions before bodies, size limits,
    # Origin, and the security headers on every answer (hardening.py).
    app.add_middleware(TransportGuard, transport=transport)

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
