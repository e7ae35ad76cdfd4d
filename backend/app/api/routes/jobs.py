"""Job assignments: a supervisor assigns, the assignee accepts, starts and completes."""

import uuid

from fastapi import APIRouter, Depends, HTTPException, Response, status

from app.api import API_V1
from app.api.deps import Conn, CurrentUser, IdempotencyKey, RedisDep, not_found, require_roles, resolve_client_ref
from app.core.security import SUPERVISORS
from app.db import insert_once
from app.events import publish_event, topics
from app.schemas import JobAssign, JobOut, JobStatus

router = APIRouter(prefix=f"{API_V1}/jobs", tags=["jobs"])

# action -> (status it moves from, status it moves to, timestamp column it stamps)
TRANSITIONS = {
    "accept": (JobStatus.ASSIGNED, JobStatus.ACCEPTED, "accepted_at"),
    "start": (JobStatus.ACCEPTED, JobStatus.IN_PROGRESS, "started_at"),
    "complete": (JobStatus.IN_PROGRESS, JobStatus.COMPLETED, "completed_at"),
}


async def announce(redis, job: JobOut, action: str) -> None:
    await publish_event(
        redis, "job_update", {"action": action, "job": job.model_dump(mode="json")},
        topics("job", job.id, job.user_id) + topics("line", job.line_id),
    )


@router.post("/assign", dependencies=[Depends(require_roles(SUPERVISORS))])
async def assign_job(
    body: JobAssign, conn: Conn, redis: RedisDep, user: CurrentUser, key: IdempotencyKey, response: Response
) -> JobOut:
    row, created = await insert_once(
        conn,
        "job_assignments",
        {"user_id": body.user_id, "line_id": body.line_id, "notes": body.notes,
         "assigned_by": user.user_id, "client_ref": resolve_client_ref(body.client_ref, key)},
    )
    job = JobOut.model_validate(dict(row))
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    if created:
        await announce(redis, job, "assigned")
    return job


@router.get("/my-jobs")
async def my_jobs(conn: Conn, user: CurrentUser) -> list[JobOut]:
    rows = await conn.fetch(
        "SELECT * FROM job_assignments WHERE user_id = $1 ORDER BY assigned_at DESC LIMIT 200", user.user_id
    )
    return [JobOut.model_validate(dict(row)) for row in rows]


async def transition(job_id: uuid.UUID, action: str, conn: Conn, redis: RedisDep, user: CurrentUser) -> JobOut:
    """Move the caller's job one step; repeating a step that already happened is a no-op."""
    source, target, stamp = TRANSITIONS[action]
    row = await conn.fetchrow(
        f"UPDATE job_assignments SET status = $3, {stamp} = now() "
        "WHERE id = $1 AND user_id = $2 AND status = $4 RETURNING *",
        job_id, user.user_id, target.value, source.value,
    )
    if row is not None:
        job = JobOut.model_validate(dict(row))
        await announce(redis, job, action)
        return job
    current = await conn.fetchrow("SELECT * FROM job_assignments WHERE id = $1", job_id)
    if current is None:
        raise not_found("job")
    if current["user_id"] != user.user_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "job is assigned to someone else")
    if current["status"] == target.value:
        return JobOut.model_validate(dict(current))
    raise HTTPException(status.HTTP_409_CONFLICT, f"cannot {action} a job that is {current['status']}")


def register_transition(action: str) -> None:
    async def endpoint(job_id: uuid.UUID, conn: Conn, redis: RedisDep, user: CurrentUser) -> JobOut:
        return await transition(job_id, action, conn, redis, user)

    endpoint.__name__ = f"{action}_job"
    router.post(f"/{{job_id}}/{action}")(endpoint)


for _action in TRANSITIONS:
    register_transition(_action)
