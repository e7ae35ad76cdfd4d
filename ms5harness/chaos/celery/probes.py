"""A memory hog sent through the real broker, and what became of it.

The backend's `memory_hog` task grows on its first delivery until the worker's memory limit kills
the process running it; acks_late with task_reject_on_worker_lost must deliver it again, and the
second delivery completes. The kernel's count of OOM kills in the worker's memory cgroup (cgroup
v1 `memory.oom_control`, or v2 `memory.events`) proves the kill happened.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from ms5harness import names
from ms5harness.chaos import session
from ms5harness.chaos.pods.probes import last_line_of, ready_pods
from ms5harness.kube.waits import WaitTimeout, exec_in_pod, poll

__all__ = ["oom_killed_task_completes"]

WORKER = "celery-worker"
TASK_EXEC_SECONDS = 30  # sending the task, or asking for its state, from a worker pod
OOM_COUNTERS = "cat /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events 2>/dev/null"
SEND = ("import sys\nfrom app.celery import celery_app\n"
        "print(celery_app.send_task('memory_hog', kwargs={'ref': sys.argv[1]}).id)")
STATE = ("import json, sys\nfrom app.celery import celery_app\nr = celery_app.AsyncResult(sys.argv[1])\n"
         "print(json.dumps({'state': r.state, 'result': r.result if r.state == 'SUCCESS' else None}))")


def in_worker(kube, namespace: str, pod: str, command: list[str]) -> str:
    return last_line_of(kube, namespace, pod, command, TASK_EXEC_SECONDS)


def oom_kills(kube, namespace: str, pods: list[str]) -> int:
    """OOM kills the kernel counted in the workers' memory cgroups (a restarted container starts at 0)."""
    total = 0
    for pod in pods:
        out = exec_in_pod(kube, namespace, pod, ["sh", "-c", OOM_COUNTERS], timeout=TASK_EXEC_SECONDS).stdout
        total += sum(int(n) for n in re.findall(r"^oom_kill (\d+)$", out, re.MULTILINE))
    return total


def restarts(kube, namespace: str) -> int:
    pods = kube.core.list_namespaced_pod(namespace, label_selector=names.component_selector(WORKER)).items
    return sum(c.restart_count for p in pods for c in p.status.container_statuses or [])


def oom_killed_task_completes(timeout: float = 180, configuration: dict | None = None,
                              secrets: dict | None = None) -> dict:
    """Send one memory hog, wait until it completed, and show it was OOM-killed on the way: its
    completion time, the kernel's OOM kills and the worker container restarts meanwhile. Raises
    when it never completed, or completed without being killed (the fault never happened)."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    pods = ready_pods(kube, namespace, WORKER)
    if not pods:
        raise session.ActivityFailed("no ready Celery worker to send the memory hog from")
    kills_before, restarts_before = oom_kills(kube, namespace, pods), restarts(kube, namespace)
    started = time.monotonic()
    task_id = in_worker(kube, namespace, pods[0], ["python3", "-c", SEND, f"chaos-{uuid.uuid4()}"])

    def state() -> dict:
        live = ready_pods(kube, namespace, WORKER) or pods
        return json.loads(in_worker(kube, namespace, live[0], ["python3", "-c", STATE, task_id]))

    try:
        final = poll(f"memory hog {task_id} completed", state, lambda s: s["state"] == "SUCCESS",
                     timeout=timeout, interval=2, summary=json.dumps)
    except WaitTimeout as err:
        raise session.ActivityFailed(str(err)) from None
    seconds = round(time.monotonic() - started, 1)
    live = ready_pods(kube, namespace, WORKER)
    kills = max(0, oom_kills(kube, namespace, live) - kills_before)
    restarted = restarts(kube, namespace) - restarts_before
    if kills == 0 and restarted == 0:
        raise session.ActivityFailed(f"the memory hog completed in {seconds}s without an OOM kill: the fault did not happen")
    return {"queued": 1, "completed": 1, "seconds_to_complete": seconds, "oom_kills": kills,
            "worker_restarts": restarted, "held_megabytes_at_completion": final["result"]["held_megabytes"]}
