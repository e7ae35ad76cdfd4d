"""health_check: the worker can reach PostgreSQL and Redis."""

from app.celery import celery_app
from app.workers.runtime import TaskResources, run_with_resources


async def _check(resources: TaskResources) -> dict:
    await resources.conn.fetchval("SELECT 1")
    await resources.redis.ping()
    return {"database": "ok", "redis": "ok"}


@celery_app.task(name="health_check")
def health_check() -> dict:
    return run_with_resources(_check)
