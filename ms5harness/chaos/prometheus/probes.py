"""PromQL against the stack's own Prometheus, reached by port-forward to its pod (ClusterIP on AKS)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import yaml

from ms5harness.chaos import session
from ms5harness.chaos.pods.probes import ready_pods
from ms5harness.kube.client import Kube

__all__ = ["query", "query_within"]

COMPONENT = "prometheus"
PORT = 9090
QUERY_SECONDS = 15  # one instant query (the harness's own bound on Prometheus, as in ms5harness.slo)


class Prometheus:
    def __init__(self, api: httpx.Client):
        self.api = api

    def scalar(self, expression: str, at: float | None = None) -> float | None:
        """The query's first sample at `at` (now), None when it returns no series or NaN."""
        params = {"query": expression, "timeout": f"{QUERY_SECONDS}s", **({"time": f"{at:.3f}"} if at else {})}
        answer = self.api.get("/api/v1/query", params=params)
        if answer.status_code != 200:
            raise session.ActivityFailed(f"Prometheus refused {expression!r}: HTTP {answer.status_code} {answer.text[:300]}")
        result = answer.json()["data"]["result"]
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if math.isnan(value) else value

    def scrape_interval(self) -> float:
        config = yaml.safe_load(self.api.get("/api/v1/status/config").json()["data"]["yaml"])
        raw = str(config["global"]["scrape_interval"])
        return float(raw[:-2]) / 1000 if raw.endswith("ms") else float(raw[:-1]) * {"s": 1, "m": 60}[raw[-1]]


@contextmanager
def prometheus(kube: Kube, namespace: str) -> Iterator[Prometheus]:
    pods = ready_pods(kube, namespace, COMPONENT)
    if not pods:
        raise session.ActivityFailed(f"no ready Prometheus pod in {namespace}")
    with session.http_to_pod(kube, namespace, pods[0], PORT, QUERY_SECONDS + 5) as api:
        yield Prometheus(api)


def query(expression: str, configuration: dict | None = None, secrets: dict | None = None) -> float:
    """One PromQL expression's value now (a steady-state probe judges it with a numeric tolerance); a
    query without data fails: no series is never within tolerance."""
    with prometheus(session.kube(configuration), session.namespace(configuration)) as prom:
        value = prom.scalar(expression, time.time())
    if value is None:
        raise session.ActivityFailed(f"no data for {expression!r}")
    return value


def query_within(expression: str, low: float, high: float, configuration: dict | None = None,
                 secrets: dict | None = None) -> float:
    """The expression's value now, which must lie in [low, high]: a bound a method activity checks
    while the fault plays (Chaos Toolkit judges tolerances only in the steady state)."""
    value = query(expression, configuration)
    if not low <= value <= high:
        raise session.ActivityFailed(f"{expression} = {value:.4g}, outside [{low:g}, {high:g}]")
    return value
