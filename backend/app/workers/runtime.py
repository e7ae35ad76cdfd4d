"""Tasks are synchronous; they run the shared async data code in a fresh event loop with
their own short-lived connections (no pool survives a prefork child's task)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
import redis.asyncio as aioredis

from app import db
from app.core.config import Settings, get_settings
from app.redis_client import create_redis

T = TypeVar("T")


@dataclass(frozen=True)
class TaskResources:
    settings: Settings
    conn: asyncpg.Connection
    redis: aioredis.Redis


@asynccontextmanager
async def task_resources() -> AsyncIterator[TaskResources]:
    settings = get_settings()
    conn = await db.connect(settings)
    redis = create_redis(settings)
    try:
        yield TaskResources(settings, conn, redis)
    finally:
        await redis.aclose()
        await conn.close()


def run_with_resources(work: Callable[[TaskResources], Awaitable[T]]) -> T:
    async def main() -> T:
        async with task_resources() as resources:
            return await work(resources)

    return asyncio.run(main())
