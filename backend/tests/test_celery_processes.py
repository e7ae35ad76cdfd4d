"""Beat and Flower run against the same Celery app as the worker."""

import re
import time

import httpx

from .services import free_port, wait_until


def completed(backend, task):
    text = httpx.get(backend.worker_metrics_url, timeout=5).text
    match = re.search(rf'^celery_tasks_total\{{state="SUCCESS",task="{task}"\}} ([0-9.]+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_beat_schedules_oee_calculation(backend):
    before = completed(backend, "calculate_oee_metrics")
    schedule = backend.stack.workdir / "celerybeat-schedule"
    beat = backend.stack.start_celery("beat", ["beat", "--loglevel=INFO", f"--schedule={schedule}"],
                                      OEE_CALCULATION_INTERVAL="1")
    try:
        wait_until(lambda: completed(backend, "calculate_oee_metrics") > before, 30, "a beat-scheduled OEE run", 0.3)
    finally:
        beat.stop()
    assert beat.popen.returncode == 0, beat.log_tail()


def test_flower_monitors_the_worker(backend):
    port = free_port()
    flower = backend.stack.start_celery("flower", ["flower", f"--port={port}", "--address=127.0.0.1"],
                                        FLOWER_BASIC_AUTH="ops:flower-test")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/healthcheck", timeout=2).status_code == 200, 60, "flower")
        assert httpx.get(f"{url}/api/workers", timeout=5).status_code == 401
        deadline = time.monotonic() + 30
        workers = {}
        while not workers and time.monotonic() < deadline:
            workers = httpx.get(f"{url}/api/workers?refresh=1", auth=("ops", "flower-test"), timeout=10).json()
            time.sleep(0.5)
        assert any(name.startswith("test-worker@") for name in workers)
    finally:
        flower.stop()
