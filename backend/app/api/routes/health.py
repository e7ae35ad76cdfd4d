"""Probes and the Prometheus endpoint; none of them needs a token."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app import db
from app.broker import ping_workers
from app.core.metrics import CELERY_QUEUE_LENGTH, OEE_SCORE
from app.services.oee import latest_per_line
from app.workers.queues import QUEUES

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/health")
async def health() -> dict:
    """Liveness: answers without touching any dependency, so an outage never restarts pods."""
    return {"status": "ok"}


async def check_database(request: Request) -> None:
    async with db.acquire(request.app.state.pool, request.app.state.settings) as conn:
        await conn.fetchval("SELECT 1")


async def check_redis(request: Request) -> None:
    await request.app.state.redis.ping()


async def check_object_storage(request: Request) -> None:
    settings = request.app.state.settings
    for bucket in (settings.MINIO_BUCKET_UPLOADS, settings.MINIO_BUCKET_REPORTS):
        await request.app.state.storage.bucket_exists(bucket)


async def check_celery(request: Request) -> None:
    replies = await ping_workers(request.app.state.settings.HEALTH_CHECK_CELERY_TIMEOUT_SECONDS * 0.6)
    if not replies:
        raise RuntimeError("no Celery worker replied to ping")


CHECKS: dict[str, Callable[[Request], Awaitable[None]]] = {
    "database": check_database,
    "redis": check_redis,
    "object_storage": check_object_storage,
    "celery": check_celery,
}


def check_budget(name: str, settings) -> float:
    """Seconds a check may take: the Celery ping has its own, every other check the common one."""
    return settings.HEALTH_CHECK_CELERY_TIMEOUT_SECONDS if name == "celery" else settings.HEALTH_CHECK_TIMEOUT_SECONDS


async def run_check(name: str, request: Request) -> dict:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(CHECKS[name](request), check_budget(name, request.app.state.settings))
        result = {"status": "ok"}
    except Exception as error:  # every failure, whatever its type, makes the pod unready
        result = {"status": "error", "error": f"{type(error).__name__}: {error}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


@router.get("/health/detailed")
async def health_detailed(request: Request) -> JSONResponse:
    """Readiness: database, Redis, buckets and a Celery worker, checked concurrently, each bounded."""
    results = await asyncio.gather(*(run_check(name, request) for name in CHECKS))
    checks = dict(zip(CHECKS, results, strict=True))
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JSONResponse(
        {"status": "healthy" if healthy else "unhealthy", "checks": checks}, status_code=200 if healthy else 503
    )


async def refresh_queue_lengths(request: Request) -> None:
    pipe = request.app.state.redis.pipeline(transaction=False)
    for queue in QUEUES:
        pipe.llen(queue)
    for queue, length in zip(QUEUES, await pipe.execute(), strict=True):
        CELERY_QUEUE_LENGTH.labels(queue).set(length)


async def refresh_oee_scores(request: Request) -> None:
    async with db.acquire(request.app.state.pool, request.app.state.settings) as conn:
        rows = await latest_per_line(conn)
    OEE_SCORE.clear()
    for row in rows:
        OEE_SCORE.labels(str(row["line_id"])).set(row["oee"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Gauges read from Redis and PostgreSQL at scrape time; a dependency outage leaves them as they were."""
    timeout = request.app.state.settings.HEALTH_CHECK_TIMEOUT_SECONDS
    for refresh in (refresh_queue_lengths, refresh_oee_scores):
        try:
            await asyncio.wait_for(refresh(request), timeout)
        except Exception as error:  # a scrape must still answer when a dependency is down
            log.warning("metrics refresh %s failed: %s", refresh.__name__, error)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
