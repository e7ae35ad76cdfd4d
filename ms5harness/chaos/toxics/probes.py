"""Probes of the fault proxy: the toxics in place, the bytes it moved, and whether any client of the
backend's reaches PostgreSQL or Redis around it.

Toxiproxy 2.5 counts a connection's bytes when the connection closes (link.go adds them once its copy
ends), so the counters step up as pooled connections end, not as queries pass. A timeout or reset toxic
ends every proxied connection it catches: a run with such a phase that went through the proxy must see
the counters grow, and one that routed around it would not.
"""

from __future__ import annotations

import logging
import shlex

from ms5harness import names
from ms5harness.chaos import session
from ms5harness.chaos.pods.probes import ready_pods
from ms5harness.chaos.toxics import proxy as fault_proxy
from ms5harness.kube.client import Kube
from ms5harness.kube.waits import exec_in_pod

__all__ = ["active_toxics", "proxy_bytes", "proxy_bytes_grew", "clients_around_proxy"]

logger = logging.getLogger("chaostoolkit")
CLIENTS = ("backend", "celery-worker", "celery-beat", "flower")  # the backend's processes (chart: faultProxy)
# Where each upstream's connections are listed: its primary pod, its main container, and the command.
CONNECTIONS = {
    "postgres": ["sh", "-c", 'PGPASSWORD="$APP_PASSWORD" psql -h 127.0.0.1 -U "$APP_USER" -d "$APP_DB" -tAX -c '
                 + shlex.quote("SELECT host(client_addr) FROM pg_stat_activity "
                               "WHERE client_addr IS NOT NULL AND pid <> pg_backend_pid()")],
    "redis": ["sh", "-c", "redis-cli --no-auth-warning -h 127.0.0.1 client list"],
}
_first_reading: dict[tuple[str, str], int] = {}  # (namespace, proxy) -> bytes at this run's first reading


def active_toxics(proxy: str, configuration: dict | None = None, secrets: dict | None = None) -> int:
    """How many toxics `proxy` holds, over every proxy pod (0 when no fault is in place)."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    fault_proxy.known(proxy)
    count = 0
    for pod in fault_proxy.pods(kube, namespace):
        with fault_proxy.api(kube, namespace, pod) as api:
            listed = api.get(f"/proxies/{proxy}/toxics")
        if listed.status_code != 200:
            raise session.ActivityFailed(f"{pod} has no proxy {proxy}: HTTP {listed.status_code} {listed.text[:200]}")
        count += len(listed.json())
    return count


def read_bytes(kube: Kube, namespace: str, proxy: str) -> int:
    total = 0
    for pod in fault_proxy.pods(kube, namespace):
        with fault_proxy.api(kube, namespace, pod) as api:
            metrics = api.get("/metrics")
        if metrics.status_code != 200:
            raise session.ActivityFailed(f"{pod} serves no /metrics (HTTP {metrics.status_code}): "
                                         "is Toxiproxy started with -proxy-metrics?")
        total += fault_proxy.bytes_moved(metrics.text, proxy)
    return total


def proxy_bytes(proxy: str, configuration: dict | None = None, secrets: dict | None = None) -> int:
    """Bytes `proxy` has moved so far (its /metrics counters, every direction, every pod). The first
    reading of a run is what proxy_bytes_grew compares with."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    total = read_bytes(kube, namespace, fault_proxy.known(proxy))
    _first_reading.setdefault((namespace, proxy), total)
    return total


def proxy_bytes_grew(proxy: str, at_least: int = 1, configuration: dict | None = None,
                     secrets: dict | None = None) -> int:
    """How many bytes `proxy` moved since this run's first proxy_bytes reading; fails below `at_least`:
    the traffic of the run did not go through the proxy (or the proxy restarted and lost its counters)."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    first = _first_reading.get((namespace, fault_proxy.known(proxy)))
    if first is None:
        raise session.ActivityFailed(f"no earlier proxy_bytes reading of {proxy} in this run to compare with")
    grown = read_bytes(kube, namespace, proxy) - first
    if grown < at_least:
        raise session.ActivityFailed(f"the fault proxy's {proxy} counters grew by {grown} bytes during the run "
                                     f"(at least {at_least} expected): its clients did not go through it")
    return grown


def addresses(listing: str, upstream: str) -> list[str]:
    """Client addresses in pg_stat_activity's rows (one address a line) or Redis' CLIENT LIST (addr=IP:port)."""
    if upstream == "postgres":
        return [line.strip() for line in listing.splitlines() if line.strip()]
    found = []
    for line in listing.splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if "addr" in fields:
            found.append(fields["addr"].rsplit(":", 1)[0].strip("[]"))
    return found


def clients_around_proxy(upstream: str, configuration: dict | None = None, secrets: dict | None = None) -> int:
    """How many connections the PostgreSQL primary or the Redis master (`upstream`) holds from a backend,
    worker, beat or Flower pod itself, rather than from the fault proxy: 0 when nothing routes around it.
    Fails when no connection comes from the proxy either (the check would prove nothing)."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    primaries = ready_pods(kube, namespace, fault_proxy.known(upstream), names.PRIMARY[upstream])
    if not primaries:
        raise session.ActivityFailed(f"no ready {upstream} pod labelled {names.PRIMARY[upstream]}")
    listed = exec_in_pod(kube, namespace, primaries[0], CONNECTIONS[upstream], container=upstream)
    if listed.exit_code != 0:
        raise session.ActivityFailed(f"listing the connections of {primaries[0]} failed: {listed.stderr.strip()[-300:]}")
    seen = addresses(listed.stdout, upstream)
    proxy_ips = pod_ips(kube, namespace, (fault_proxy.COMPONENT,))
    client_ips = pod_ips(kube, namespace, CLIENTS)
    through = sum(a in proxy_ips for a in seen)
    around = sorted(a for a in seen if a in client_ips)
    logger.info(f"{upstream} ({primaries[0]}): {through} connection(s) from the fault proxy, "
                f"{len(around)} from the backend's pods themselves {around}")
    if not through:
        raise session.ActivityFailed(f"{primaries[0]} holds no connection from the fault proxy "
                                     f"({len(seen)} connections from {sorted(set(seen))})")
    return len(around)


def pod_ips(kube: Kube, namespace: str, components: tuple[str, ...]) -> set[str]:
    return {p.status.pod_ip for c in components
            for p in kube.core.list_namespaced_pod(namespace, label_selector=names.component_selector(c)).items
            if p.status.pod_ip}
