"""Redis client with short timeouts: an outage must fail fast, not hang requests."""

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff

from app.core.config import Settings


def create_redis(settings: Settings) -> aioredis.Redis:
    # One quick retry replaces a pooled connection that died with a Redis restart.
    return aioredis.Redis.from_url(
        settings.REDIS_URL,
        password=settings.REDIS_PASSWORD.get_secret_value() if settings.REDIS_PASSWORD else None,
        socket_timeout=settings.REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
        health_check_interval=15,
        retry=Retry(ConstantBackoff(0.05), 1),
        decode_responses=True,
    )
