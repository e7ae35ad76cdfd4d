"""One PromQL expression evaluated now, for a range tolerance: the experiment states its bound.

No result is never a number: the probe fails ("no data"), so a missing series is neither read
as a breach nor as a pass.
"""

from __future__ import annotations

import math

from prometheus_api_client import PrometheusConnect

from ms5harness.chaos import session

__all__ = ["query", "query_within"]

DEFAULT_PROMETHEUS_URL = "http://127.0.0.1:30090"  # Prometheus' NodePort on the embedded cluster
QUERY_SECONDS = 15


def prometheus_url(configuration: dict | None) -> str:
    return ((configuration or {}).get("prometheus_url") or DEFAULT_PROMETHEUS_URL).rstrip("/")


def query(expression: str, configuration: dict | None = None, secrets: dict | None = None) -> float:
    """The expression's single value now; raises when it has none (or more than one series)."""
    result = PrometheusConnect(url=prometheus_url(configuration), disable_ssl=True).custom_query(
        expression, params={"timeout": f"{QUERY_SECONDS}s"})
    if len(result) != 1 or math.isnan(float(result[0]["value"][1])):
        raise session.ActivityFailed(f"no data: {expression} has no value now (no traffic in its window?)")
    return float(result[0]["value"][1])


def query_within(expression: str, low: float, high: float, configuration: dict | None = None,
                 secrets: dict | None = None) -> float:
    """The expression's value now, which must lie in [low, high]: a bound a method activity checks
    while the fault plays (Chaos Toolkit judges tolerances only in the steady state)."""
    value = query(expression, configuration)
    if not low <= value <= high:
        raise session.ActivityFailed(f"{expression} = {value:.4g}, outside [{low:g}, {high:g}]")
    return value
