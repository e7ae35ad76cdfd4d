"""memory_hog: a task that, on its first delivery, grows until its worker's memory limit kills it.

The harness sends it (experiments/memory-exhaustion.json) to prove that a task whose process is
OOM-killed is delivered again (acks_late, task_reject_on_worker_lost) and then completes. A marker
in Redis records the first delivery; a later one finds it and completes without growing. The
growth stops at MAX_MEGABYTES (or the caller's limit) should a worker have no memory limit.
"""

import time

from app.celery import celery_app
from app.workers.runtime import TaskResources, run_with_resources

MAX_MEGABYTES = 4096
MARKER_SECONDS = 3600


async def _first_delivery(resources: TaskResources, ref: str) -> bool:
    return bool(await resources.redis.set(f"ms5:memory-hog:{ref}", "grown", nx=True, ex=MARKER_SECONDS))


@celery_app.task(name="memory_hog")
def memory_hog(ref: str, step_megabytes: int = 16, limit_megabytes: int = MAX_MEGABYTES) -> dict:
    """Returns how many megabytes this delivery held (0 on the delivery after the kill)."""
    held: list[bytes] = []
    if run_with_resources(lambda resources: _first_delivery(resources, ref)):
        while len(held) * step_megabytes < min(limit_megabytes, MAX_MEGABYTES):
            held.append(b"x" * (step_megabytes << 20))  # bytes are written, so the pages are really used
            time.sleep(0.05)
    return {"ref": ref, "held_megabytes": len(held) * step_megabytes}
