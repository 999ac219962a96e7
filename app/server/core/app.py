"""The application factory: routers, error handlers, and the lifespan of the database."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain.lifecycle import TransitionError
from app.server.core.db import Database
from app.server.core.errors import AppError
from app.server.core.settings import Settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The one error shape every refusal of the service has."""
    return {"error": {"code": code, "message": message, **details}}


def _describe_validation(exc: RequestValidationError) -> tuple[str, str, list[dict[str, Any]]]:
    fields = []
    for err in exc.errors():
        location = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        if err.get("type") == "json_invalid":
            return "malformed_json", "The request body is not valid JSON.", []
        if err.get("type") == "extra_forbidden":
            message = "is not a known field"
        else:
            message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        fields.append({"field": location, "message": message})
    summary = "; ".join(
        f"{f['field']}: {f['message']}" if f["field"] else f["message"] for f in fields
    )
    return "invalid", summary or "The request is invalid.", fields


def install_error_handlers(app: FastAPI) -> None:
    """Turn every failure into ``{"error": {"code", "message"}}``; no traceback leaves."""

    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = {}
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after"])
        return JSONResponse(
            error_body(exc.code, exc.message, **exc.details), exc.status, headers=headers
        )

    @app.exception_handler(TransitionError)
    async def transition_error(_: Request, exc: TransitionError) -> JSONResponse:
        return JSONResponse(
            error_body(
                "invalid_transition",
                exc.reason,
                status=exc.current.value,
                target=exc.target.value,
            ),
            409,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        code, message, fields = _describe_validation(exc)
        status = 400 if code == "malformed_json" else 422
        return JSONResponse(error_body(code, message, fields=fields), status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = "No such resource." if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(error_body(code, message), exc.status_code)

    @app.exception_handler(DBAPIError)
    async def database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in ("55P03", "40001", "40P01"):  # lock timeout, serialization, deadlock
            return JSONResponse(
                error_body("busy", "The booking system is busy; please try again."),
                503,
                headers={"Retry-After": "1"},
            )
        log.exception("database error")
        return JSONResponse(
            error_body("database_error", "The database could not complete the request."), 503
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            error_body("internal_error", "Something went wrong on the service."), 500
        )


def create_app(settings: Settings, database_url: str) -> FastAPI:
    """The service, talking to the (already migrated) database at ``database_url``."""
    from app.server.auth.router import router as auth_router
    from app.server.bookings.router import router as bookings_router
    from app.server.checkins.router import router as checkins_router
    from app.server.customers.router import router as customers_router
    from app.server.health.router import router as health_router
    from app.server.jobs import JobRunner, build_queue
    from app.server.notifications.router import router as outbox_router
    from app.server.payments.public_router import router as checkout_router
    from app.server.payments.stripe_gateway import StripeGateway
    from app.server.payments.webhook_router import router as webhook_router
    from app.server.refunds.router import router as money_router
    from app.server.sessions.public_router import router as catalog_router
    from app.server.sessions.router import router as sessions_router
    from app.server.sync.notifier import ChangeNotifier
    from app.server.sync.router import router as sync_router

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(
            database_url,
            pool_size=settings.db_pool_size,
            lock_timeout_ms=settings.lock_timeout_ms,
        )
        key = settings.stripe_secret_key
        gateway = StripeGateway(key.get_secret_value(), settings.stripe_api_base) if key else None
        jobs = JobRunner(
            build_queue(db, gateway, pool_size=settings.db_pool_size, settings=settings),
            run_worker=settings.run_jobs,
            concurrency=settings.job_concurrency,
        )
        app.state.db, app.state.gateway, app.state.jobs = db, gateway, jobs
        await jobs.start()
        app.state.notifier = await ChangeNotifier.started(database_url)
        # What startup built lives as long as the process: out of the collector's sight,
        # a full collection no longer walks its ~135,000 objects (a 60 ms pause, more on
        # a busy machine, that stalled every request in flight during a webhook burst).
        gc.freeze()
        try:
            yield
        finally:
            await app.state.notifier.stop()
            await jobs.stop()
            await db.dispose()

    app = FastAPI(
        title="BookingTMS sync service",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health_router)
    for router in (
        auth_router,
        bookings_router,
        checkins_router,
        customers_router,
        sessions_router,
        catalog_router,
        checkout_router,
        webhook_router,
        money_router,
        sync_router,
        outbox_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    return app


def app_from_environment() -> FastAPI:
    """The service as configured by the environment (``bookingtms server --workers N``)."""
    from app.server.core.embedded_postgres import sqlalchemy_url

    settings = Settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL must be set for a worker process.")
    return create_app(settings, sqlalchemy_url(settings.database_url))
