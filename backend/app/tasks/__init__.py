"""Background tasks; importing this package registers every task with the Celery app."""
