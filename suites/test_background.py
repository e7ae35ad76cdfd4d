"""Background work: a report requested through the API is produced by a Celery worker into the
reports bucket; beat enqueues its schedule; Flower sees the live workers."""

import json
import uuid
from datetime import datetime, timedelta, timezone

from ms5harness.kube.waits import poll
from test_data_paths import backend_python

FLOWER_SEES_WORKERS_SECONDS = 60  # a new worker's first heartbeat (every 2 s) reaches Flower well within this
# A healthy worker produces a report in seconds; this also covers three of generate_report's retries
# (2 + 4 + 8 s) after a transient fault. It is also how long a stopped worker takes to turn the test red.
REPORT_COMPLETES_SECONDS = 45


def test_report_is_generated_by_a_worker_into_the_reports_bucket(stack):
    token = stack.admin_token()
    auth = {"Authorization": f"Bearer {token}"}
    with stack.api() as api:
        line = next(l for l in api.get("/api/v1/production/lines", headers=auth).json() if l["line_code"] == "L-BAG1")
        now = datetime.now(timezone.utc)
        resp = api.post("/api/v1/reports/production", headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
                        json={"line_id": line["id"], "period_start": (now - timedelta(hours=8)).isoformat(),
                              "period_end": now.isoformat()})
        assert resp.status_code == 202, resp.text
        report_id = resp.json()["id"]
        report = poll("report completed", lambda: api.get(f"/api/v1/reports/{report_id}", headers=auth).json(),
                      lambda r: r["status"] in ("completed", "failed"), timeout=REPORT_COMPLETES_SECONDS, interval=2)
    assert report["status"] == "completed", report
    assert "ms5-reports" in report["download_url"]
    out = backend_python(stack, f"""
    import json, urllib.request
    body = urllib.request.urlopen({report['download_url']!r}, timeout=10).read()
    print(json.dumps(dict(size=len(body))))
    """)
    assert out["size"] > 0


def worker_task_count(stack, task: str) -> float:
    result = stack.exec("celery-worker", ["python", "-c",
                        "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9808/metrics',timeout=5).read().decode())"])
    total = 0.0
    for line in result.stdout.splitlines():
        if line.startswith("celery_tasks_total{") and f'task="{task}"' in line and 'state="SUCCESS"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_beat_enqueues_scheduled_tasks_that_workers_run(stack):
    """process_andon_escalations runs every minute: the worker's counter must grow."""
    before = worker_task_count(stack, "process_andon_escalations")
    poll("scheduled task executed", lambda: worker_task_count(stack, "process_andon_escalations"),
         lambda n: n > before, timeout=150, interval=10)


def test_flower_lists_the_live_workers(stack):
    """Flower shows every running worker pod online, and nothing else online. It keeps a worker it
    once saw (a pod deleted by a rollout or an experiment) listed as offline, so only the online
    ones are compared; a new worker appears at its first heartbeat."""
    user_pass = stack.secret("FLOWER_BASIC_AUTH")
    code = ("import base64,json,urllib.request;"
            "r=urllib.request.Request('http://127.0.0.1:5555/flower/api/workers?refresh=1&status=1',"
            f"headers={{'Authorization':'Basic '+base64.b64encode({user_pass!r}.encode()).decode()}});"
            "print(json.dumps(json.load(urllib.request.urlopen(r,timeout=20))))")

    def online() -> tuple[list[str], set[str]]:
        result = stack.exec("flower", ["python", "-c", code], timeout=40)
        assert result.exit_code == 0, result.stderr
        workers = json.loads(result.stdout.strip().splitlines()[-1])
        pods = {p.metadata.name for p in stack.pods("celery-worker")}
        return sorted(w for w, up in workers.items() if up), pods

    def matches(seen: tuple[list[str], set[str]]) -> bool:
        workers, pods = seen
        return bool(workers) and len(workers) == len(pods) and all(any(p in w for p in pods) for w in workers)

    poll("Flower showing exactly the running workers online", online, matches, timeout=FLOWER_SEES_WORKERS_SECONDS,
         interval=5, summary=lambda seen: f"flower sees {seen[0]} online, pods {sorted(seen[1])}")
