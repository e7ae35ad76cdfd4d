"""Base class for every MS5 task: retries on dependency outages and outcome counting."""

from celery import Task
from celery.worker.request import Request

from app.core.errors import TRANSIENT_ERRORS
from app.core.metrics import CELERY_TASKS

OUTCOME_EVENTS = {"task-succeeded": "SUCCESS", "task-failed": "FAILURE", "task-retried": "RETRY"}


class MetricsRequest(Request):
    """Counts outcomes in the worker's main process, where the metrics endpoint runs, whichever
    pool child ran the task. The outcome events are sent because worker_send_task_events is on."""

    def send_event(self, type, **fields):
        if type in OUTCOME_EVENTS:
            CELERY_TASKS.labels(self.task.name, OUTCOME_EVENTS[type]).inc()
        return super().send_event(type, **fields)


class Ms5Task(Task):
    Request = MetricsRequest
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 3
