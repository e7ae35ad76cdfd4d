"""Celery settings, loaded by app.celery with config_from_object("celery_config")."""

from celery.schedules import crontab
from kombu import Exchange, Queue

from app.core.config import get_settings
from app.workers.queues import QUEUES, TASK_ROUTES

_settings = get_settings()

broker_url = _settings.redis_url
result_backend = _settings.redis_url
broker_connection_retry_on_startup = True
# Fail fast on a dead Redis instead of blocking API requests that enqueue work.
# A worker that dies without handing its messages back (SIGKILL, node loss) leaves them unacknowledged
# in Redis until the visibility timeout; every worker sweeps for such messages every 10 s. 90 s is longer
# than any task's hard time limit and retry countdown (60 s), so acks_late never double-runs a task, and
# short enough that a killed worker's reports are produced within two minutes, not an hour (the Redis
# transport's default; measured by experiments/worker-kill.json).
broker_transport_options = {
    "visibility_timeout": 90,
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    # A sweep holds a Redis lock while it restores; a worker SIGKILLed inside one (a node lost) would
    # otherwise stop every sweep for the lock's default 300 s.
    "unacked_mutex_expire": 30,
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
}
redis_socket_timeout = 5
redis_socket_connect_timeout = 2
redis_backend_health_check_interval = 15
task_publish_retry_policy = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True
result_expires = 24 * 3600

# A task is acknowledged only after it ran, and a worker takes one message at a time,
# so a killed worker pod hands its message to another.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_soft_time_limit = 50
task_time_limit = 60
worker_max_tasks_per_child = 1000

task_default_queue = "default"
# One direct exchange per queue: with a shared key, every queue would get a copy of every task.
task_queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES]
task_routes = {task: {"queue": queue} for task, queue in TASK_ROUTES.items()}

# Events feed Flower.
worker_send_task_events = True
task_send_sent_event = True

beat_schedule_filename = "/tmp/celerybeat-schedule"  # the root filesystem is read-only
beat_schedule = {
    "calculate-oee-metrics": {"task": "calculate_oee_metrics", "schedule": float(_settings.OEE_CALCULATION_INTERVAL)},
    "process-andon-escalations": {"task": "process_andon_escalations", "schedule": 60.0},
    "health-check": {"task": "health_check", "schedule": 300.0},
    "cleanup-old-data": {"task": "cleanup_old_data", "schedule": crontab(hour=3, minute=15)},
}
