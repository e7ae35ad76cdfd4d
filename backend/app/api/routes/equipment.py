"""Equipment status, derived from open downtime and recent telemetry."""

import uuid

from fastapi import APIRouter

from app.api import API_V1
from app.api.deps import Conn, CurrentUser
from app.schemas import EquipmentStatusOut

router = APIRouter(prefix=f"{API_V1}/equipment", tags=["equipment"])

TELEMETRY_FRESH_SECONDS = 300


def equipment_status(enabled: bool, in_downtime: bool, seconds_since_seen: float | None) -> str:
    if not enabled:
        return "disabled"
    if in_downtime:
        return "down"
    if seconds_since_seen is not None and seconds_since_seen <= TELEMETRY_FRESH_SECONDS:
        return "running"
    return "offline"


@router.get("/status")
async def status(conn: Conn, _: CurrentUser, line_id: uuid.UUID | None = None) -> list[EquipmentStatusOut]:
    rows = await conn.fetch(
        """SELECT e.equipment_code, e.name, e.line_id, l.line_code, e.enabled,
                  EXISTS (SELECT 1 FROM downtime_events d
                          WHERE d.equipment_code = e.equipment_code AND d.end_time IS NULL) AS in_downtime,
                  m.last_seen, EXTRACT(EPOCH FROM now() - m.last_seen)::float8 AS seconds_since_seen
           FROM equipment_config e
           LEFT JOIN production_lines l ON l.id = e.line_id
           LEFT JOIN LATERAL (SELECT max(ts) AS last_seen FROM metric_hist
                              WHERE equipment_code = e.equipment_code AND ts > now() - interval '1 day') m ON true
           WHERE $1::uuid IS NULL OR e.line_id = $1
           ORDER BY e.equipment_code""",
        line_id,
    )
    return [
        EquipmentStatusOut(
            equipment_code=row["equipment_code"], name=row["name"], line_id=row["line_id"],
            line_code=row["line_code"], last_seen=row["last_seen"],
            status=equipment_status(row["enabled"], row["in_downtime"], row["seconds_since_seen"]),
        )
        for row in rows
    ]
