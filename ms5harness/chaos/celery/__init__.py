"""Faults inside the Celery workers: tasks that exhaust their worker."""
