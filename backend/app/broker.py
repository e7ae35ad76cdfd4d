"""Celery calls made by the API. kombu blocks and retries, so each call runs in a small
dedicated thread pool (a dead broker cannot starve other work) and the caller waits a bounded time."""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from app.celery import celery_app

T = TypeVar("T")

_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="broker")


async def _bounded(call: Callable[[], T], timeout: float) -> T:
    return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(_executor, call), timeout)


def _ping(timeout: float) -> list:
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=timeout)
        return celery_app.control.ping(timeout=timeout, limit=1, connection=connection)


async def ping_workers(timeout: float) -> list:
    """Replies from at most one worker; fails fast when the broker refuses connections."""
    return await _bounded(lambda: _ping(timeout), timeout + 0.5)


async def enqueue(task_name: str, args: list, timeout: float) -> None:
    """Fire and forget: results are tracked in PostgreSQL, so no result-backend subscription is made."""
    await _bounded(lambda: celery_app.send_task(task_name, args=args, ignore_result=True), timeout)
