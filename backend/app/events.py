"""Real-time events: one envelope format, published to Redis so every API replica fans it out."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "ms5:ws:events"
SUBSCRIPTION_TYPES = ("line", "equipment", "job", "oee", "downtime", "andon")


def envelope(message_type: str, data: Any) -> dict:
    return {"type": message_type, "data": data, "timestamp": datetime.now(UTC).isoformat()}


def topics(subscription_type: str, *target_ids: object) -> list[str]:
    """Topics an event is delivered to: everyone on the type, plus each named target."""
    return [f"{subscription_type}:*", *(f"{subscription_type}:{target}" for target in target_ids if target)]


async def publish_event(redis: aioredis.Redis, message_type: str, data: Any, event_topics: list[str]) -> bool:
    """Best effort: the database row is the record; a Redis outage only loses the live push."""
    payload = json.dumps({"topics": event_topics, "message": envelope(message_type, data)}, default=str)
    try:
        await redis.publish(EVENTS_CHANNEL, payload)
        return True
    except RedisError as error:
        log.warning("could not publish %s event: %s", message_type, error)
        return False
