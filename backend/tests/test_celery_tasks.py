"""Every task executed by the real worker process (sent through the real Redis broker)."""

import re
import time
import uuid

import httpx
import pytest


@pytest.fixture(scope="module")
def celery_app(backend):
    from app.celery import celery_app

    return celery_app


def run_task(celery_app, name, *args):
    return celery_app.send_task(name, args=args).get(timeout=60)


def test_health_check(celery_app):
    assert run_task(celery_app, "health_check") == {"database": "ok", "redis": "ok"}


def test_calculate_oee_metrics_covers_enabled_lines(celery_app, line_id, client, users):
    results = run_task(celery_app, "calculate_oee_metrics", 600)
    assert line_id in results
    current = client.get(f"/api/v1/oee/lines/{line_id}/current", headers=users.headers("viewer")).json()
    assert current["planned_time_seconds"] == pytest.approx(600)


def test_process_andon_escalations(celery_app, client, users, line_id):
    event = client.post("/api/v1/andon/events", headers=users.headers("operator"),
                        json={"line_id": line_id, "event_type": "maintenance", "priority": "high",
                              "description": "motor hot"}).json()
    time.sleep(2.2)  # ANDON_ACKNOWLEDGMENT_TIMEOUT is 2 s in the tests
    assert event["id"] in run_task(celery_app, "process_andon_escalations")
    escalated = client.get(f"/api/v1/andon/events/{event['id']}", headers=users.headers("viewer")).json()
    assert escalated["status"] == "escalated" and escalated["escalated_at"]
    assert event["id"] not in run_task(celery_app, "process_andon_escalations")  # escalated once
    acked = client.put(f"/api/v1/andon/events/{event['id']}/acknowledge", headers=users.headers("maintenance"))
    assert acked.json()["status"] == "acknowledged"


def test_cleanup_old_data(celery_app, backend, line_id):
    marker = f"old-{uuid.uuid4()}"
    backend.db("INSERT INTO metric_hist (ts, line_id, metric_name, value) VALUES "
               "(now() - interval '400 days', $1, $2, 1), (now(), $1, $2, 2)", uuid.UUID(line_id), marker)
    deleted = run_task(celery_app, "cleanup_old_data")
    assert deleted["metric_hist"] >= 1
    remaining = backend.db("SELECT value FROM metric_hist WHERE metric_name = $1", marker)
    assert [row["value"] for row in remaining] == [2]


def task_count(backend, task, state="SUCCESS"):
    text = httpx.get(backend.worker_metrics_url, timeout=5).text
    match = re.search(rf'^celery_tasks_total\{{state="{state}",task="{task}"\}} ([0-9.]+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_worker_counts_each_task_once(celery_app, backend):
    """Also guards the routing: a task sent once runs once (a shared routing key would copy it to every queue)."""
    before = task_count(backend, "health_check")
    run_task(celery_app, "health_check")
    deadline = time.monotonic() + 10
    while task_count(backend, "health_check") == before and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    assert task_count(backend, "health_check") == before + 1


def test_memory_hog_grows_on_its_first_delivery_only(celery_app):
    """The first delivery grows (here up to 64 MB; in the cluster until the worker's limit kills it);
    a delivery that finds the first one's marker completes without growing."""
    ref = f"test-{uuid.uuid4()}"
    kwargs = {"ref": ref, "step_megabytes": 16, "limit_megabytes": 64}
    assert celery_app.send_task("memory_hog", kwargs=kwargs).get(timeout=60) == {"ref": ref, "held_megabytes": 64}
    assert celery_app.send_task("memory_hog", kwargs=kwargs).get(timeout=60) == {"ref": ref, "held_megabytes": 0}
