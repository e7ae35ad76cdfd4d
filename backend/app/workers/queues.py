"""Celery queues and which task goes to which (the worker consumes all of them)."""

QUEUES = ("default", "oee", "andon", "reports", "data_processing")

TASK_ROUTES = {
    "health_check": "default",
    "calculate_oee_metrics": "oee",
    "process_andon_escalations": "andon",
    "generate_report": "reports",
    "cleanup_old_data": "data_processing",
    "memory_hog": "data_processing",
}
