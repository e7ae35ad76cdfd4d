"""OEE = availability x performance x quality, computed from downtime and part counts."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class OeeInputs:
    planned_seconds: float
    downtime_seconds: float
    ideal_cycle_time_seconds: float
    total_parts: int
    good_parts: int


@dataclass(frozen=True)
class OeeResult:
    availability: float
    performance: float
    quality: float
    oee: float


def _ratio(numerator: float, denominator: float) -> float:
    """A ratio clamped to [0, 1]; an empty denominator means nothing was achieved."""
    if denominator <= 0:
        return 0.0
    return min(max(numerator / denominator, 0.0), 1.0)


def compute_oee(inputs: OeeInputs) -> OeeResult:
    run_seconds = max(inputs.planned_seconds - inputs.downtime_seconds, 0.0)
    availability = _ratio(run_seconds, inputs.planned_seconds)
    # An optimistic ideal cycle time would push performance above 1; it is capped.
    performance = _ratio(inputs.ideal_cycle_time_seconds * inputs.total_parts, run_seconds)
    quality = _ratio(inputs.good_parts, inputs.total_parts)
    return OeeResult(availability, performance, quality, availability * performance * quality)


async def calculate_and_store(
    conn: asyncpg.Connection, line_id: uuid.UUID, start: datetime, end: datetime
) -> asyncpg.Record | None:
    """Compute OEE for a line over [start, end) from its data and record it; None if the line is unknown."""
    ideal_cycle = await conn.fetchval(
        "SELECT ideal_cycle_time_seconds FROM production_lines WHERE id = $1", line_id
    )
    if ideal_cycle is None:
        return None
    downtime = await conn.fetchval(
        """SELECT COALESCE(sum(EXTRACT(EPOCH FROM LEAST(COALESCE(end_time, $3), $3) - GREATEST(start_time, $2))), 0)
           FROM downtime_events
           WHERE line_id = $1 AND start_time < $3 AND COALESCE(end_time, 'infinity') > $2""",
        line_id, start, end,
    )
    parts = await conn.fetchrow(
        """SELECT COALESCE(sum(value) FILTER (WHERE metric_name = 'total_parts'), 0) AS total,
                  COALESCE(sum(value) FILTER (WHERE metric_name = 'good_parts'), 0) AS good
           FROM metric_hist
           WHERE line_id = $1 AND metric_name IN ('total_parts', 'good_parts') AND ts >= $2 AND ts < $3""",
        line_id, start, end,
    )
    planned = (end - start).total_seconds()
    inputs = OeeInputs(
        planned_seconds=planned,
        downtime_seconds=min(float(downtime), planned),
        ideal_cycle_time_seconds=ideal_cycle,
        total_parts=int(parts["total"]),
        good_parts=int(parts["good"]),
    )
    result = compute_oee(inputs)
    return await conn.fetchrow(
        """INSERT INTO oee_calculations (line_id, period_start, period_end, availability, performance, quality,
                                         oee, planned_time_seconds, downtime_seconds, good_parts, total_parts)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *""",
        line_id, start, end, result.availability, result.performance, result.quality, result.oee,
        inputs.planned_seconds, inputs.downtime_seconds, inputs.good_parts, inputs.total_parts,
    )


async def latest_per_line(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT DISTINCT ON (line_id) line_id, oee FROM oee_calculations
           WHERE calculation_time > now() - interval '1 day'
           ORDER BY line_id, calculation_time DESC"""
    )
