"""Prometheus metrics the SLOs and alerts use (one process per pod, so the default registry)."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests by route template", ["method", "handler", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "handler"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKET_CONNECTIONS = Gauge("ms5_websocket_active_connections", "Open WebSocket sessions on this replica")
OEE_SCORE = Gauge("ms5_oee_score", "Latest OEE per production line (0-1)", ["line_id"])
ANDON_EVENTS = Counter(
    "ms5_andon_events_total", "Andon state changes made through the API", ["priority", "status"]
)
CELERY_QUEUE_LENGTH = Gauge("celery_queue_length", "Messages waiting in a Celery queue", ["queue"])
CELERY_TASKS = Counter("celery_tasks_total", "Celery task outcomes seen by the worker", ["task", "state"])
DB_QUERY_DURATION = Histogram(
    "ms5_db_query_duration_seconds",
    "PostgreSQL query latency",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
CACHE_HITS = Counter("ms5_cache_hits_total", "Redis cache hits", ["cache"])
CACHE_MISSES = Counter("ms5_cache_misses_total", "Redis cache misses (including Redis errors)", ["cache"])
