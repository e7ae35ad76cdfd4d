"""Andon stoppage alerts: raise, list, acknowledge, resolve; every change is broadcast."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from app.api import API_V1
from app.api.deps import Conn, CurrentUser, IdempotencyKey, RedisDep, not_found, require_roles, resolve_client_ref
from app.cache import invalidate_dashboard
from app.core.metrics import ANDON_EVENTS
from app.core.security import FLOOR_WRITERS, RESPONDERS
from app.db import insert_once
from app.schemas import AndonCreate, AndonOut, AndonResolve, AndonStatus
from app.services.andon import broadcast_andon
from app.services.dashboard import ACTIVE_ANDON

router = APIRouter(prefix=f"{API_V1}/andon", tags=["andon"])
responders_only = [Depends(require_roles(RESPONDERS))]


async def announce(redis, event: AndonOut, action: str) -> None:
    ANDON_EVENTS.labels(event.priority.value, event.status.value).inc()
    await invalidate_dashboard(redis)
    await broadcast_andon(redis, action, event.model_dump(mode="json"))


@router.post("/events", dependencies=[Depends(require_roles(FLOOR_WRITERS))])
async def create_event(
    body: AndonCreate, conn: Conn, redis: RedisDep, user: CurrentUser, key: IdempotencyKey, response: Response
) -> AndonOut:
    """201 for a new event; 200 with the original event when the idempotency key was seen before."""
    row, created = await insert_once(
        conn,
        "andon_events",
        {"line_id": body.line_id, "equipment_code": body.equipment_code, "event_type": body.event_type.value,
         "priority": body.priority.value, "description": body.description, "reported_by": user.user_id,
         "client_ref": resolve_client_ref(body.client_ref, key)},
    )
    event = AndonOut.model_validate(dict(row))
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    if created:
        await announce(redis, event, "created")
    return event


@router.get("/events")
async def list_events(
    conn: Conn,
    _: CurrentUser,
    line_id: uuid.UUID | None = None,
    status_filter: Annotated[AndonStatus | None, Query(alias="status")] = None,
    client_ref: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AndonOut]:
    rows = await conn.fetch(
        """SELECT * FROM andon_events
           WHERE ($1::uuid IS NULL OR line_id = $1) AND ($2::text IS NULL OR status = $2)
             AND ($3::text IS NULL OR client_ref = $3)
           ORDER BY created_at DESC LIMIT $4""",
        line_id, status_filter.value if status_filter else None, client_ref, limit,
    )
    return [AndonOut.model_validate(dict(row)) for row in rows]


@router.get("/events/active")
async def active_events(conn: Conn, _: CurrentUser, line_id: uuid.UUID | None = None) -> list[AndonOut]:
    rows = await conn.fetch(
        """SELECT * FROM andon_events WHERE status = ANY($1::text[]) AND ($2::uuid IS NULL OR line_id = $2)
           ORDER BY CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                    created_at""",
        list(ACTIVE_ANDON), line_id,
    )
    return [AndonOut.model_validate(dict(row)) for row in rows]


@router.get("/events/by-ref/{client_ref}")
async def event_by_client_ref(client_ref: str, conn: Conn, _: CurrentUser) -> AndonOut:
    row = await conn.fetchrow("SELECT * FROM andon_events WHERE client_ref = $1", client_ref)
    if row is None:
        raise not_found("andon event")
    return AndonOut.model_validate(dict(row))


@router.get("/events/{event_id}")
async def get_event(event_id: uuid.UUID, conn: Conn, _: CurrentUser) -> AndonOut:
    row = await conn.fetchrow("SELECT * FROM andon_events WHERE id = $1", event_id)
    if row is None:
        raise not_found("andon event")
    return AndonOut.model_validate(dict(row))


async def change_status(
    conn: Conn, redis: RedisDep, event_id: uuid.UUID, target: AndonStatus, update_sql: str, *args: object
) -> AndonOut:
    """Apply a status change; repeating one that already happened returns the event unchanged."""
    row = await conn.fetchrow(update_sql, event_id, *args)
    if row is not None:
        event = AndonOut.model_validate(dict(row))
        await announce(redis, event, target.value)
        return event
    current = await conn.fetchrow("SELECT * FROM andon_events WHERE id = $1", event_id)
    if current is None:
        raise not_found("andon event")
    if current["status"] == target.value:
        return AndonOut.model_validate(dict(current))
    raise HTTPException(status.HTTP_409_CONFLICT, f"event is {current['status']}")


@router.put("/events/{event_id}/acknowledge", dependencies=responders_only)
async def acknowledge(event_id: uuid.UUID, conn: Conn, redis: RedisDep, user: CurrentUser) -> AndonOut:
    return await change_status(
        conn, redis, event_id, AndonStatus.ACKNOWLEDGED,
        """UPDATE andon_events SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = now()
           WHERE id = $1 AND status IN ('open', 'escalated') RETURNING *""",
        user.user_id,
    )


@router.put("/events/{event_id}/resolve", dependencies=responders_only)
async def resolve(
    event_id: uuid.UUID, conn: Conn, redis: RedisDep, user: CurrentUser, body: AndonResolve | None = None
) -> AndonOut:
    return await change_status(
        conn, redis, event_id, AndonStatus.RESOLVED,
        """UPDATE andon_events SET status = 'resolved', resolved_by = $2, resolved_at = now(),
                  resolution_notes = $3
           WHERE id = $1 AND status <> 'resolved' RETURNING *""",
        user.user_id, body.resolution_notes if body else None,
    )
