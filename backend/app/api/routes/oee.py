"""OEE: calculate on demand, read the latest figure and time-bucketed trends."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.api import API_V1
from app.api.deps import Conn, CurrentUser, RedisDep, SettingsDep, not_found, require_roles
from app.cache import invalidate_dashboard
from app.core.security import ANALYSTS
from app.events import publish_event, topics
from app.schemas import OeeCalculate, OeeOut, OeeTrendPoint, TrendBucket
from app.services.oee import calculate_and_store

router = APIRouter(prefix=f"{API_V1}/oee", tags=["oee"])

BUCKET_WIDTHS = {
    TrendBucket.FIVE_MINUTES: timedelta(minutes=5),
    TrendBucket.FIFTEEN_MINUTES: timedelta(minutes=15),
    TrendBucket.HOUR: timedelta(hours=1),
    TrendBucket.DAY: timedelta(days=1),
}


async def announce_oee(redis, oee: OeeOut) -> None:
    await invalidate_dashboard(redis)
    await publish_event(
        redis, "oee_update", oee.model_dump(mode="json"), topics("oee", oee.line_id) + topics("line", oee.line_id)
    )


@router.post("/calculate", status_code=status.HTTP_201_CREATED, dependencies=[Depends(require_roles(ANALYSTS))])
async def calculate(body: OeeCalculate, conn: Conn, redis: RedisDep, settings: SettingsDep) -> OeeOut:
    end = body.period_end or datetime.now(UTC)
    start = body.period_start or end - timedelta(seconds=settings.OEE_CALCULATION_INTERVAL)
    row = await calculate_and_store(conn, body.line_id, start, end)
    if row is None:
        raise not_found("line")
    oee = OeeOut.model_validate(dict(row))
    await announce_oee(redis, oee)
    return oee


async def ensure_line(conn: Conn, line_id: uuid.UUID) -> None:
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM production_lines WHERE id = $1)", line_id):
        raise not_found("line")


@router.get("/lines/{line_id}/current")
async def current(line_id: uuid.UUID, conn: Conn, _: CurrentUser) -> OeeOut:
    row = await conn.fetchrow(
        "SELECT * FROM oee_calculations WHERE line_id = $1 ORDER BY calculation_time DESC LIMIT 1", line_id
    )
    if row is None:
        await ensure_line(conn, line_id)
        raise not_found("OEE calculation for this line")
    return OeeOut.model_validate(dict(row))


@router.get("/lines/{line_id}/trends")
async def trends(
    line_id: uuid.UUID,
    conn: Conn,
    _: CurrentUser,
    bucket: TrendBucket = TrendBucket.HOUR,
    hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
) -> list[OeeTrendPoint]:
    """date_bin works on plain PostgreSQL and on TimescaleDB hypertables alike."""
    await ensure_line(conn, line_id)
    rows = await conn.fetch(
        """SELECT date_bin($2::interval, calculation_time, TIMESTAMPTZ '2000-01-01') AS bucket,
                  avg(availability) AS availability, avg(performance) AS performance,
                  avg(quality) AS quality, avg(oee) AS oee,
                  sum(good_parts) AS good_parts, sum(total_parts) AS total_parts, count(*) AS samples
           FROM oee_calculations
           WHERE line_id = $1 AND calculation_time >= now() - $3::interval
           GROUP BY 1 ORDER BY 1""",
        line_id, BUCKET_WIDTHS[bucket], timedelta(hours=hours),
    )
    return [OeeTrendPoint.model_validate(dict(row)) for row in rows]
