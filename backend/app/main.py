"""FastAPI application: `uvicorn app.main:app` (one worker process per pod)."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import db
from app.api.router import ROUTERS
from app.core.config import Settings, get_settings
from app.core.errors import DEPENDENCY_ERRORS, DependencyUnavailable
from app.middleware import RequestMetricsMiddleware
from app.redis_client import create_redis
from app.storage import ObjectStorage
from app.ws.hub import WebSocketHub

log = logging.getLogger("app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Nothing here waits for a dependency: the pod starts (and stays live) during an outage."""
    settings: Settings = app.state.settings
    app.state.pool = await db.create_pool(settings)
    app.state.redis = create_redis(settings)
    app.state.storage = ObjectStorage(settings)
    app.state.hub = WebSocketHub(
        app.state.redis, settings.WEBSOCKET_HEARTBEAT_INTERVAL, settings.WEBSOCKET_MAX_CONNECTIONS
    )
    app.state.hub.start()
    try:
        yield
    finally:
        await app.state.hub.stop()
        await app.state.redis.aclose()
        await app.state.pool.close()


def unavailable(dependency: str) -> JSONResponse:
    return JSONResponse(
        {"detail": f"{dependency} unavailable, retry shortly", "dependency": dependency},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def register_error_handlers(app: FastAPI) -> None:
    async def dependency_unavailable(_: Request, error: DependencyUnavailable) -> JSONResponse:
        return unavailable(error.dependency)

    async def dependency_error(_: Request, error: Exception) -> JSONResponse:
        dependency = next(name for kind, name in DEPENDENCY_ERRORS.items() if isinstance(error, kind))
        log.warning("%s error: %s: %s", dependency, type(error).__name__, error)
        return unavailable(dependency)

    async def timed_out(_: Request, error: TimeoutError) -> JSONResponse:
        log.warning("timed out waiting for a dependency: %s", error)
        return unavailable("dependency")

    async def missing_reference(_: Request, error: asyncpg.ForeignKeyViolationError) -> JSONResponse:
        return JSONResponse({"detail": f"referenced record not found ({error.constraint_name})"}, status_code=404)

    app.add_exception_handler(DependencyUnavailable, dependency_unavailable)
    for kind in DEPENDENCY_ERRORS:
        app.add_exception_handler(kind, dependency_error)
    app.add_exception_handler(TimeoutError, timed_out)
    app.add_exception_handler(asyncpg.ForeignKeyViolationError, missing_reference)


def create_app(settings: Settings) -> FastAPI:
    logging.basicConfig(level=settings.LOG_LEVEL.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = FastAPI(title="MS5.0 Floor Dashboard API", version="1.0.0", debug=settings.DEBUG, lifespan=lifespan)
    app.state.settings = settings
    for router in ROUTERS:
        app.include_router(router)
    register_error_handlers(app)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.ALLOWED_HOSTS)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.ALLOWED_ORIGINS,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.add_middleware(RequestMetricsMiddleware)
    return app


app = create_app(get_settings())
