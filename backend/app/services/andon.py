"""Andon rules shared by the API and the escalation task."""

import asyncpg
import redis.asyncio as aioredis

from app.events import publish_event, topics


async def broadcast_andon(redis: aioredis.Redis, action: str, event: dict) -> None:
    await publish_event(
        redis,
        "andon_event",
        {"action": action, "event": event},
        topics("andon", event["line_id"]) + topics("line", event["line_id"]),
    )


async def escalate_overdue(
    conn: asyncpg.Connection, acknowledgment_timeout: int, resolution_timeout: int
) -> list[asyncpg.Record]:
    """Escalate events left unacknowledged or unresolved too long; each is escalated once."""
    return await conn.fetch(
        """UPDATE andon_events SET status = 'escalated', escalated_at = now()
           WHERE escalated_at IS NULL AND (
                 (status = 'open' AND created_at < now() - make_interval(secs => $1))
              OR (status = 'acknowledged' AND acknowledged_at < now() - make_interval(secs => $2)))
           RETURNING *""",
        float(acknowledgment_timeout), float(resolution_timeout),
    )
