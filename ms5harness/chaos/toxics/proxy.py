"""The fault proxy (chart: faultProxy, component fault-proxy): its pods, and Toxiproxy's HTTP API on each,
reached by port-forward (its Service is ClusterIP only, so this works on AKS as on the embedded cluster).

Toxiproxy keeps its toxics in the process: a toxic belongs to one pod, and dies with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from kubernetes import client

from ms5harness import names
from ms5harness.chaos import session
from ms5harness.chaos.pods.probes import ready_pods
from ms5harness.kube.client import Kube

COMPONENT = "fault-proxy"
API_PORT = 8474
API_SECONDS = 10  # one API call; Toxiproxy answers in milliseconds (its own handler timeout is longer)
PROXIES = ("postgres", "redis")  # the chart's proxies, named after the component each fronts
COUNTERS = ("toxiproxy_proxy_received_bytes_total", "toxiproxy_proxy_sent_bytes_total")
SAMPLE = re.compile(r'^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$')


def pods(kube: Kube, namespace: str) -> list[str]:
    """The ready proxy pods (one, as the chart runs it); none means the proxy is not deployed."""
    found = ready_pods(kube, namespace, COMPONENT)
    if not found:
        raise session.ActivityFailed(f"no ready {COMPONENT} pod in {namespace}: deploy with faultProxy.enabled=true "
                                     "(on in the local profile)")
    return found


@contextmanager
def api(kube: Kube, namespace: str, pod: str) -> Iterator[httpx.Client]:
    with session.http_to_pod(kube, namespace, pod, API_PORT, API_SECONDS) as client:
        yield client


def known(proxy: str) -> str:
    if proxy not in PROXIES:
        raise session.ActivityFailed(f"unknown proxy {proxy!r}: the fault proxy has {', '.join(PROXIES)}")
    return proxy


def bytes_moved(metrics: str, proxy: str) -> int:
    """Bytes one proxy moved, from Toxiproxy's /metrics text: received and sent, both directions.
    Toxiproxy 2.5 adds a connection's bytes when that connection closes."""
    total = 0.0
    for line in metrics.splitlines():
        sample = SAMPLE.match(line.strip())
        if sample and sample["name"] in COUNTERS and f'proxy="{proxy}"' in sample["labels"].split(","):
            total += float(sample["value"])
    return int(total)


def fronted_ports(kube: Kube, namespace: str, destination: str) -> set[int]:
    """The proxy's listen ports in front of `destination` (its proxies are named after what they front),
    from the chart's ConfigMap; empty when the fault proxy is not deployed."""
    try:
        config = kube.core.read_namespaced_config_map(names.object_name(COMPONENT), namespace)
    except client.ApiException as err:
        if err.status == 404:
            return set()
        raise
    proxies = json.loads((config.data or {}).get("proxies.json") or "[]")
    return {int(p["listen"].rsplit(":", 1)[1]) for p in proxies if p.get("name") == destination}
