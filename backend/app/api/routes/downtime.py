"""Downtime events."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.api import API_V1
from app.api.deps import Conn, CurrentUser, IdempotencyKey, RedisDep, require_roles, resolve_client_ref
from app.cache import invalidate_dashboard
from app.core.security import FLOOR_WRITERS
from app.db import insert_once
from app.events import publish_event, topics
from app.schemas import DowntimeCreate, DowntimeOut

router = APIRouter(prefix=f"{API_V1}/downtime", tags=["downtime"])


@router.post("/events", dependencies=[Depends(require_roles(FLOOR_WRITERS))])
async def create_event(
    body: DowntimeCreate, conn: Conn, redis: RedisDep, user: CurrentUser, key: IdempotencyKey, response: Response
) -> DowntimeOut:
    row, created = await insert_once(
        conn,
        "downtime_events",
        {"line_id": body.line_id, "equipment_code": body.equipment_code, "reason": body.reason,
         "category": body.category.value, "start_time": body.start_time, "end_time": body.end_time,
         "notes": body.notes, "reported_by": user.user_id, "client_ref": resolve_client_ref(body.client_ref, key)},
    )
    event = DowntimeOut.model_validate(dict(row))
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    if created:
        await invalidate_dashboard(redis)
        await publish_event(
            redis, "downtime_event", event.model_dump(mode="json"),
            topics("downtime", event.line_id) + topics("equipment", event.equipment_code) + topics("line", event.line_id),
        )
    return event


@router.get("/events")
async def list_events(
    conn: Conn,
    _: CurrentUser,
    line_id: uuid.UUID | None = None,
    since: datetime | None = None,
    open_only: bool = False,
    client_ref: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DowntimeOut]:
    rows = await conn.fetch(
        """SELECT * FROM downtime_events
           WHERE ($1::uuid IS NULL OR line_id = $1) AND ($2::timestamptz IS NULL OR start_time >= $2)
             AND (NOT $3 OR end_time IS NULL) AND ($4::text IS NULL OR client_ref = $4)
           ORDER BY start_time DESC LIMIT $5""",
        line_id, since, open_only, client_ref, limit,
    )
    return [DowntimeOut.model_validate(dict(row)) for row in rows]
