"""The specification of the stack's network: every flow it needs, and by implication none other.

(source component, destination component, port). "node" stands for the machine
itself (NodePort entry points and scrapes through the node); "outside" for an
address beyond the cluster, which no component may reach.
"""

ALLOWED = {
    ("nginx", "backend", 8000), ("nginx", "flower", 5555),
    ("backend", "postgres", 5432), ("backend", "redis", 6379), ("backend", "redis-sentinel", 26379),
    ("backend", "minio", 9000),
    ("celery-worker", "postgres", 5432), ("celery-worker", "redis", 6379),
    ("celery-worker", "redis-sentinel", 26379), ("celery-worker", "minio", 9000),
    ("celery-beat", "redis", 6379), ("celery-beat", "redis-sentinel", 26379),
    ("flower", "redis", 6379), ("flower", "redis-sentinel", 26379),
    ("postgres", "postgres", 5432), ("postgres", "postgres", 8008),
    ("redis", "redis", 6379), ("redis", "redis-sentinel", 26379),
    ("redis-sentinel", "redis", 6379), ("redis-sentinel", "redis-sentinel", 26379),
    ("prometheus", "backend", 8000), ("prometheus", "celery-worker", 9808), ("prometheus", "postgres", 9187),
    ("prometheus", "postgres", 8008), ("prometheus", "redis", 9121), ("prometheus", "minio", 9000),
    ("prometheus", "alertmanager", 9093), ("alertmanager", "alert-webhook", 8080),
    # The fault proxy (faultProxy.enabled, the local profile): the backend's processes through it to the
    # Postgres primary and the Redis master, and its metrics.
    ("backend", "fault-proxy", 5432), ("backend", "fault-proxy", 6379),
    ("celery-worker", "fault-proxy", 5432), ("celery-worker", "fault-proxy", 6379),
    ("celery-beat", "fault-proxy", 6379), ("flower", "fault-proxy", 6379),
    ("fault-proxy", "postgres", 5432), ("fault-proxy", "redis", 6379), ("prometheus", "fault-proxy", 8474),
    # The entry-point probes: Prometheus asks the blackbox exporter, which GETs through nginx.
    ("prometheus", "blackbox-exporter", 9115), ("blackbox-exporter", "nginx", 8080),
}

# Components whose pods live long enough to probe from (Jobs and CronJobs are not sources here). The fault
# proxy and the blackbox exporter are destinations only: their images hold no client to probe from.
SOURCES = ("nginx", "backend", "celery-worker", "celery-beat", "flower", "postgres", "redis",
           "redis-sentinel", "prometheus", "alertmanager", "alert-webhook", "minio")
# One port per destination for the "everything else is refused" half of the matrix.
DESTINATIONS = {"backend": 8000, "flower": 5555, "postgres": 5432, "redis": 6379, "redis-sentinel": 26379,
                "minio": 9000, "prometheus": 9090, "alertmanager": 9093, "alert-webhook": 8080,
                "celery-worker": 9808, "nginx": 8080, "fault-proxy": 5432, "blackbox-exporter": 9115}
# Rendered only in some profiles: a flow from or to one that is not deployed is not checked.
OPTIONAL = ("fault-proxy",)


def allowed(source: str, destination: str, port: int) -> bool:
    return (source, destination, port) in ALLOWED


def allowed_source(destination: str, port: int) -> str | None:
    """A component that may open this port, to check the port answers."""
    return next((s for s, d, p in sorted(ALLOWED) if d == destination and p == port), None)
