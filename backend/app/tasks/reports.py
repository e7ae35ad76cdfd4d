"""generate_report(report_id): write the CSV to the reports bucket and record where it is."""

import uuid
from contextlib import suppress
from datetime import datetime

from app.celery import celery_app
from app.core.errors import TRANSIENT_ERRORS
from app.services.reports import production_report_csv
from app.storage import ObjectStorage
from app.workers.runtime import TaskResources, run_with_resources


class ReportNotVisibleYet(Exception):
    """The API enqueues inside its transaction, so the row may commit a moment after the task starts."""


async def _generate(resources: TaskResources, report_id: uuid.UUID) -> str:
    conn = resources.conn
    job = await conn.fetchrow(
        "UPDATE report_generation_jobs SET status = 'running', started_at = now() "
        "WHERE id = $1 AND status IN ('pending', 'running') RETURNING parameters",
        report_id,
    )
    if job is None:
        if await conn.fetchval("SELECT status FROM report_generation_jobs WHERE id = $1", report_id):
            return "already finished"
        raise ReportNotVisibleYet(str(report_id))
    params = job["parameters"]
    body = await production_report_csv(
        conn, uuid.UUID(params["line_id"]),
        datetime.fromisoformat(params["period_start"]), datetime.fromisoformat(params["period_end"]),
    )
    key = f"production/{report_id}.csv"
    await ObjectStorage(resources.settings).put(resources.settings.MINIO_BUCKET_REPORTS, key, body, "text/csv")
    await conn.execute(
        "UPDATE report_generation_jobs SET status = 'completed', object_key = $2, completed_at = now() WHERE id = $1",
        report_id, key,
    )
    return key


# Listing autoretry_for here replaces Ms5Task's, so the dependency outages are named again: without them a
# report whose task met a failover or a restarting object store stayed pending for ever. No jitter: with
# Celery's full jitter five retries could all fall within a few seconds, so the outage a report survives
# (2+4+8+16+16+16 s, about a minute) is a stated figure, not a draw.
@celery_app.task(name="generate_report", bind=True, autoretry_for=(*TRANSIENT_ERRORS, ReportNotVisibleYet),
                 retry_backoff=2, retry_backoff_max=16, retry_jitter=False, max_retries=6)
def generate_report(self, report_id: str) -> str:
    """Returns the object key. Outages are retried for about a minute; a report that cannot be built,
    or whose last retry met an outage, is marked failed so that nobody waits for it."""
    job_id = uuid.UUID(report_id)
    try:
        return run_with_resources(lambda resources: _generate(resources, job_id))
    except LookupError as error:
        mark_failed(job_id, str(error))
        raise
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= self.max_retries:
            with suppress(*TRANSIENT_ERRORS):  # the outage may still be on: the report then stays running
                mark_failed(job_id, f"gave up: {error!r}")
        raise


def mark_failed(report_id: uuid.UUID, error: str) -> None:
    async def update(resources: TaskResources) -> None:
        await resources.conn.execute(
            "UPDATE report_generation_jobs SET status = 'failed', error = $2, completed_at = now() WHERE id = $1",
            report_id, error[:1000],
        )
    run_with_resources(update)
