"""process_andon_escalations (beat, every minute)."""

from app.cache import invalidate_dashboard
from app.celery import celery_app
from app.schemas import AndonOut
from app.services.andon import broadcast_andon, escalate_overdue
from app.workers.runtime import TaskResources, run_with_resources


async def _escalate(resources: TaskResources) -> list[str]:
    settings = resources.settings
    rows = await escalate_overdue(
        resources.conn, settings.ANDON_ACKNOWLEDGMENT_TIMEOUT, settings.ANDON_RESOLUTION_TIMEOUT
    )
    for row in rows:
        await broadcast_andon(resources.redis, "escalated", AndonOut.model_validate(dict(row)).model_dump(mode="json"))
    if rows:
        await invalidate_dashboard(resources.redis)
    return [str(row["id"]) for row in rows]


@celery_app.task(name="process_andon_escalations")
def process_andon_escalations() -> list[str]:
    """Returns the ids of the events escalated by this run."""
    return run_with_resources(_escalate)
