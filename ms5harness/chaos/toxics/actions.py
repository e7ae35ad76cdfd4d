"""Toxics on the fault proxy: latency, timeouts and resets between the backend's processes and PostgreSQL
or Redis, through Toxiproxy's HTTP API (ms5harness.chaos.toxics.proxy)."""

from __future__ import annotations

import httpx
from kubernetes import client

from ms5harness.chaos import ledger, session
from ms5harness.chaos.toxics import proxy as fault_proxy
from ms5harness.kube.client import Kube

__all__ = ["add_toxic"]  # the activity; remove_toxic is the ledger's undo

TYPES = ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data")  # Toxiproxy 2.5's
STREAMS = ("upstream", "downstream")  # client -> server, server -> client


def toxic_spec(type: str, attributes: dict | None, toxicity: float, stream: str, name: str | None) -> dict:
    """The toxic as Toxiproxy's API takes it; refuses what it would refuse, before anything is recorded."""
    if type not in TYPES:
        raise session.ActivityFailed(f"unknown toxic type {type!r}: one of {', '.join(TYPES)}")
    if stream not in STREAMS:
        raise session.ActivityFailed(f"stream {stream!r} is neither upstream nor downstream")
    if not 0 < toxicity <= 1:
        raise session.ActivityFailed(f"toxicity {toxicity} is not in (0, 1]")
    return {"name": name or f"ms5h-{type}-{stream}", "type": type, "stream": stream, "toxicity": toxicity,
            "attributes": attributes or {}}


def add_toxic(proxy: str, type: str, attributes: dict | None = None, toxicity: float = 1.0,
              stream: str = "downstream", name: str | None = None, configuration: dict | None = None,
              secrets: dict | None = None) -> dict:
    """Add a toxic to `proxy` ("postgres" or "redis") on every fault-proxy pod, e.g. type "latency" with
    {"latency": 200, "jitter": 50} (ms). Each pod's undo is recorded before its toxic is added."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    toxic = toxic_spec(type, attributes, toxicity, stream, name)
    fault_proxy.known(proxy)
    pods = fault_proxy.pods(kube, namespace)
    for pod in pods:
        ledger.record(kube, namespace, f"toxic {toxic['name']} removed from {pod} proxy {proxy}",
                      f"{__name__}.remove_toxic", pod=pod, proxy=proxy, name=toxic["name"])
        with fault_proxy.api(kube, namespace, pod) as api:
            added = api.post(f"/proxies/{proxy}/toxics", json=toxic)
        if added.status_code != 200:
            raise session.ActivityFailed(f"{pod} refused toxic {toxic['name']} on {proxy}: "
                                         f"HTTP {added.status_code} {added.text[:200]}")
    return {**toxic, "proxy": proxy, "pods": pods}


def remove_toxic(kube: Kube, namespace: str, pod: str, proxy: str, name: str) -> None:
    """Undo of add_toxic: delete the toxic; nothing to do when it or its pod is gone (a toxic dies with
    the Toxiproxy process that held it)."""
    try:
        kube.core.read_namespaced_pod(pod, namespace)
    except client.ApiException as err:
        if err.status == 404:
            return
        raise
    with fault_proxy.api(kube, namespace, pod) as api:
        removed = api.delete(f"/proxies/{proxy}/toxics/{name}")
    if removed.status_code not in (200, 204, 404):  # Toxiproxy answers 204; 404: already gone
        raise httpx.HTTPStatusError(f"{pod} did not remove toxic {name} from {proxy}: HTTP {removed.status_code}",
                                    request=removed.request, response=removed)
