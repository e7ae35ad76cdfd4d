"""The specification of the stack's network: every flow it needs, and by implication none other.

(source component, destination component, port). "node" stands for the machine
itself (NodePort entry points and scrapes through the node); "outside" for an
address beyond the cluster, which no component may reach.
"""

from ms5harness.chart.schema import profile_rules

ALLOWED = {
    ("nginx", "backend", 8000),  # and nothing else: Flower is reached by port-forward only
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
    # The backup monitor lists the backup store for Prometheus (IN_CLUSTER_BACKUP_STORE below).
    ("backup-monitor", "minio", 9000), ("prometheus", "backup-monitor", 9188),
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
           "redis-sentinel", "prometheus", "alertmanager", "alert-webhook", "minio", "backup-monitor")
# One port per destination for the "everything else is refused" half of the matrix.
DESTINATIONS = {"backend": 8000, "flower": 5555, "postgres": 5432, "redis": 6379, "redis-sentinel": 26379,
                "minio": 9000, "prometheus": 9090, "alertmanager": 9093, "alert-webhook": 8080,
                "celery-worker": 9808, "nginx": 8080, "fault-proxy": 5432, "backup-monitor": 9188,
                "blackbox-exporter": 9115}
# Rendered only in some profiles: a flow from or to one that is not deployed is not checked.
OPTIONAL = ("fault-proxy",)


# Flows to the in-cluster object store that only a profile backing up in the cluster has: the aks profile's
# schema refuses an in-cluster backup store (postgres.backup.store), so there the monitor reaches only that store.
IN_CLUSTER_BACKUP_STORE = {("backup-monitor", "minio", 9000)}
OFF_CLUSTER_BACKUP_PROFILES = tuple(p for p, keys in profile_rules().items() if "postgres.backup.store.endpoint" in keys)


def allowed(source: str, destination: str, port: int, profile: str = "local") -> bool:
    flow = (source, destination, port)
    if flow in IN_CLUSTER_BACKUP_STORE and profile in OFF_CLUSTER_BACKUP_PROFILES:
        return False
    return flow in ALLOWED


def allowed_source(destination: str, port: int) -> str | None:
    """A component that may open this port, to check the port answers."""
    return next((s for s, d, p in sorted(ALLOWED) if d == destination and p == port), None)
