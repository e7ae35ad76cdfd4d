"""cleanup_old_data (daily): drop telemetry and OEE rows older than TIMESCALEDB_RETENTION_POLICY."""

from app.celery import celery_app
from app.workers.runtime import TaskResources, run_with_resources

RETAINED_TABLES = {"metric_hist": "ts", "oee_calculations": "calculation_time"}


async def _cleanup(resources: TaskResources) -> dict[str, int]:
    """Plain DELETEs work on hypertables too (TimescaleDB prunes whole chunks when it can)."""
    deleted = {}
    for table, time_column in RETAINED_TABLES.items():
        status = await resources.conn.execute(
            f"DELETE FROM {table} WHERE {time_column} < now() - $1::text::interval",
            resources.settings.TIMESCALEDB_RETENTION_POLICY,
        )
        deleted[table] = int(status.split()[-1])
    return deleted


@celery_app.task(name="cleanup_old_data")
def cleanup_old_data() -> dict[str, int]:
    """Returns rows deleted per table."""
    return run_with_resources(_cleanup)
