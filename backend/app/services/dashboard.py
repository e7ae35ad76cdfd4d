"""Dashboard aggregates over lines, Andon, downtime, jobs and the latest OEE."""

from typing import Any

import asyncpg

ACTIVE_ANDON = ("open", "acknowledged", "escalated")


def line_status(enabled: bool, open_downtime: int, active_stops: int) -> str:
    if not enabled:
        return "disabled"
    return "stopped" if open_downtime or active_stops else "running"


async def lines_overview(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT l.id AS line_id, l.line_code, l.name, l.enabled,
                  count(a.id) AS active_andon_events,
                  count(a.id) FILTER (WHERE a.event_type = 'stop') AS active_stops,
                  (SELECT count(*) FROM downtime_events d WHERE d.line_id = l.id AND d.end_time IS NULL)
                      AS open_downtime_events,
                  o.oee, o.availability, o.performance, o.quality, o.calculation_time AS oee_calculated_at
           FROM production_lines l
           LEFT JOIN andon_events a ON a.line_id = l.id AND a.status = ANY($1::text[])
           LEFT JOIN LATERAL (
               SELECT oee, availability, performance, quality, calculation_time FROM oee_calculations
               WHERE line_id = l.id ORDER BY calculation_time DESC LIMIT 1) o ON true
           GROUP BY l.id, o.oee, o.availability, o.performance, o.quality, o.calculation_time
           ORDER BY l.line_code""",
        list(ACTIVE_ANDON),
    )
    lines = []
    for row in rows:
        line = dict(row)
        line["status"] = line_status(line["enabled"], line["open_downtime_events"], line.pop("active_stops"))
        del line["enabled"]
        lines.append(line)
    return lines


async def summary(conn: asyncpg.Connection) -> dict[str, Any]:
    lines = await lines_overview(conn)
    by_priority = dict(
        await conn.fetch(
            "SELECT priority, count(*) FROM andon_events WHERE status = ANY($1::text[]) GROUP BY priority",
            list(ACTIVE_ANDON),
        )
    )
    jobs_in_progress = await conn.fetchval("SELECT count(*) FROM job_assignments WHERE status = 'in_progress'")
    scores = [line["oee"] for line in lines if line["oee"] is not None]
    return {
        "total_lines": len(lines),
        "running_lines": sum(line["status"] == "running" for line in lines),
        "stopped_lines": sum(line["status"] == "stopped" for line in lines),
        "active_andon_events": sum(by_priority.values()),
        "active_andon_by_priority": by_priority,
        "open_downtime_events": sum(line["open_downtime_events"] for line in lines),
        "jobs_in_progress": jobs_in_progress,
        "average_oee": sum(scores) / len(scores) if scores else None,
    }
