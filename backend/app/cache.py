"""Read-through JSON cache in Redis; when Redis is down the data comes straight from the database."""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app.core.metrics import CACHE_HITS, CACHE_MISSES

log = logging.getLogger(__name__)

DASHBOARD_KEYS = ("ms5:cache:dashboard:lines", "ms5:cache:dashboard:summary")


async def cached_json(
    redis: aioredis.Redis, key: str, ttl_seconds: int, compute: Callable[[], Awaitable[Any]]
) -> Any:
    cache_name = key.rsplit(":", 1)[-1]
    try:
        hit = await redis.get(key)
    except RedisError as error:
        log.warning("cache read failed for %s: %s", key, error)
        hit = None
    if hit is not None:
        CACHE_HITS.labels(cache_name).inc()
        return json.loads(hit)
    CACHE_MISSES.labels(cache_name).inc()
    value = await compute()
    try:
        await redis.set(key, json.dumps(value, default=str), ex=ttl_seconds)
    except RedisError as error:
        log.warning("cache write failed for %s: %s", key, error)
    return value


async def invalidate_dashboard(redis: aioredis.Redis) -> None:
    """Writes that change what the dashboard shows drop its cache; a stale TTL is the fallback."""
    try:
        await redis.delete(*DASHBOARD_KEYS)
    except RedisError as error:
        log.warning("dashboard cache invalidation failed: %s", error)
