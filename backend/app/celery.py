"""The Celery application: `celery -A app.celery worker | beat | flower`."""

from celery import Celery

celery_app = Celery(
    "ms5",
    task_cls="app.workers.task:Ms5Task",
    include=["app.tasks.health", "app.tasks.oee", "app.tasks.andon", "app.tasks.reports", "app.tasks.maintenance",
             "app.tasks.diagnostics"],
)
celery_app.config_from_object("celery_config")

# Imported for its signal handler: the worker's metrics endpoint.
from app.workers import metrics as _worker_metrics  # noqa: E402,F401
