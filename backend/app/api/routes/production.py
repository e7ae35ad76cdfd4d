"""Production lines."""

import uuid

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Response, status

from app.api import API_V1
from app.api.deps import Conn, CurrentUser, RedisDep, not_found, require_roles
from app.cache import invalidate_dashboard
from app.core.security import MANAGERS
from app.events import publish_event, topics
from app.schemas import LineCreate, LineOut, LineUpdate

router = APIRouter(prefix=f"{API_V1}/production", tags=["production"])
managers_only = [Depends(require_roles(MANAGERS))]


async def announce_line_change(redis, line: dict, action: str) -> None:
    await invalidate_dashboard(redis)
    await publish_event(redis, "line_status_update", {"action": action, "line": line}, topics("line", line["id"]))


@router.get("/lines")
async def list_lines(conn: Conn, _: CurrentUser) -> list[LineOut]:
    rows = await conn.fetch("SELECT * FROM production_lines ORDER BY line_code")
    return [LineOut.model_validate(dict(row)) for row in rows]


@router.post("/lines", status_code=status.HTTP_201_CREATED, dependencies=managers_only)
async def create_line(body: LineCreate, conn: Conn, redis: RedisDep) -> LineOut:
    try:
        row = await conn.fetchrow(
            """INSERT INTO production_lines (line_code, name, description, ideal_cycle_time_seconds, enabled)
               VALUES ($1, $2, $3, $4, $5) RETURNING *""",
            body.line_code, body.name, body.description, body.ideal_cycle_time_seconds, body.enabled,
        )
    except asyncpg.UniqueViolationError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"line_code {body.line_code} already exists") from None
    line = LineOut.model_validate(dict(row))
    await announce_line_change(redis, line.model_dump(mode="json"), "created")
    return line


@router.get("/lines/{line_id}")
async def get_line(line_id: uuid.UUID, conn: Conn, _: CurrentUser) -> LineOut:
    row = await conn.fetchrow("SELECT * FROM production_lines WHERE id = $1", line_id)
    if row is None:
        raise not_found("line")
    return LineOut.model_validate(dict(row))


@router.put("/lines/{line_id}", dependencies=managers_only)
async def update_line(line_id: uuid.UUID, body: LineUpdate, conn: Conn, redis: RedisDep) -> LineOut:
    changes = body.model_dump(exclude_unset=True)
    assignments = ", ".join(f"{column} = ${index}" for index, column in enumerate(changes, start=2))
    row = await conn.fetchrow(
        f"UPDATE production_lines SET {assignments + ', ' if assignments else ''}updated_at = now() "
        "WHERE id = $1 RETURNING *",
        line_id, *changes.values(),
    )
    if row is None:
        raise not_found("line")
    line = LineOut.model_validate(dict(row))
    await announce_line_change(redis, line.model_dump(mode="json"), "updated")
    return line


@router.delete("/lines/{line_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=managers_only)
async def delete_line(line_id: uuid.UUID, conn: Conn, redis: RedisDep) -> Response:
    try:
        deleted = await conn.fetchval("DELETE FROM production_lines WHERE id = $1 RETURNING id", line_id)
    except asyncpg.ForeignKeyViolationError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "line has recorded history; disable it instead (enabled=false)"
        ) from None
    if deleted is None:
        raise not_found("line")
    await announce_line_change(redis, {"id": str(line_id)}, "deleted")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
