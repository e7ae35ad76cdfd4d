"""Production report: OEE, Andon and downtime of one line over a period, as CSV."""

import csv
import io
import uuid
from datetime import datetime

import asyncpg

SECTIONS = {
    "oee": """SELECT calculation_time, availability, performance, quality, oee, good_parts, total_parts
              FROM oee_calculations WHERE line_id = $1 AND calculation_time >= $2 AND calculation_time < $3
              ORDER BY calculation_time""",
    "andon": """SELECT created_at, event_type, priority, status, description, resolved_at
                FROM andon_events WHERE line_id = $1 AND created_at >= $2 AND created_at < $3
                ORDER BY created_at""",
    "downtime": """SELECT start_time, end_time, category, reason
                   FROM downtime_events WHERE line_id = $1 AND start_time >= $2 AND start_time < $3
                   ORDER BY start_time""",
}


async def production_report_csv(
    conn: asyncpg.Connection, line_id: uuid.UUID, start: datetime, end: datetime
) -> bytes:
    line = await conn.fetchrow("SELECT line_code, name FROM production_lines WHERE id = $1", line_id)
    if line is None:
        raise LookupError(f"line {line_id} not found")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["report", "production", line["line_code"], line["name"], start.isoformat(), end.isoformat()])
    for section, query in SECTIONS.items():
        rows = await conn.fetch(query, line_id, start, end)
        writer.writerow([])
        writer.writerow([f"# {section}", f"{len(rows)} rows"])
        if rows:
            writer.writerow(rows[0].keys())
            writer.writerows(row.values() for row in rows)
    return out.getvalue().encode()
