"""calculate_oee_metrics (beat): one OEE row per enabled line for the last interval."""

from datetime import UTC, datetime, timedelta

from app.cache import invalidate_dashboard
from app.celery import celery_app
from app.events import publish_event, topics
from app.schemas import OeeOut
from app.services.oee import calculate_and_store
from app.workers.runtime import TaskResources, run_with_resources


async def _calculate_all(resources: TaskResources, period_seconds: int) -> dict:
    end = datetime.now(UTC)
    start = end - timedelta(seconds=period_seconds)
    line_ids = await resources.conn.fetch("SELECT id FROM production_lines WHERE enabled ORDER BY line_code")
    results = {}
    for record in line_ids:
        row = await calculate_and_store(resources.conn, record["id"], start, end)
        if row is None:  # line deleted meanwhile
            continue
        oee = OeeOut.model_validate(dict(row)).model_dump(mode="json")
        await publish_event(resources.redis, "oee_update", oee,
                            topics("oee", oee["line_id"]) + topics("line", oee["line_id"]))
        results[oee["line_id"]] = oee["oee"]
    await invalidate_dashboard(resources.redis)
    return results


@celery_app.task(name="calculate_oee_metrics")
def calculate_oee_metrics(period_seconds: int | None = None) -> dict:
    """Returns {line_id: oee} for the lines calculated."""
    return run_with_resources(
        lambda resources: _calculate_all(resources, period_seconds or resources.settings.OEE_CALCULATION_INTERVAL)
    )
