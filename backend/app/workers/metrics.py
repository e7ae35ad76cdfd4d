"""The worker's /metrics endpoint (celery_tasks_total), served by its main process."""

import logging

from celery.signals import worker_ready
from prometheus_client import start_http_server

from app.core.config import get_settings

log = logging.getLogger(__name__)


@worker_ready.connect
def serve_worker_metrics(**_: object) -> None:
    settings = get_settings()
    if settings.WORKER_METRICS_PORT:
        start_http_server(settings.WORKER_METRICS_PORT, addr=settings.WORKER_METRICS_HOST)
        log.info("worker metrics on %s:%d", settings.WORKER_METRICS_HOST, settings.WORKER_METRICS_PORT)
