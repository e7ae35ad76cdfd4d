"""The MS5 service-level objectives, read from the chart's values: the one place they are defined.

The chart turns them into recording rules and alerts; the harness judges load runs and chaos
phases against the same numbers, so a change in values.yaml moves both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

import yaml

from ms5harness.paths import CHART_DIR, values_files


@dataclass(frozen=True)
class Objectives:
    availability: float  # fraction of requests (clients) or time (server) the API must serve
    latency_p95: float  # seconds: 95 % of requests faster than this
    error_ratio: float  # most 5xx (or failed) requests allowed, as a fraction
    db_query_p95: float  # seconds
    window_days: int  # the window the error budget refers to
    scale_out_seconds: float  # a load step -> the HPA's new replica ready and serving

    @property
    def error_budget(self) -> float:
        """The availability budget: the fraction of requests allowed to fail over the window."""
        return 1 - self.availability

    def as_dict(self) -> dict:
        return asdict(self)


def merged(base: dict, top: dict) -> dict:
    """top over base, mapping by mapping (as Helm merges values files; the plan merges its defaults so)."""
    return {**base, **{k: merged(base.get(k) or {}, v) if isinstance(v, dict) else v for k, v in top.items()}}


@cache
def chart_values(profile: str) -> dict:
    """values.yaml with the profile's file on top, as Helm merges them."""
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    for path in values_files(profile):
        values = merged(values, yaml.safe_load(path.read_text()) or {})
    return values


def scrape_seconds(profile: str = "local") -> float:
    """Prometheus' scrape interval: the resolution of every server-side series."""
    raw = str(chart_values(profile)["prometheus"]["scrapeInterval"])
    return float(raw[:-1]) * (60 if raw.endswith("m") else 1)


@cache
def load(profile: str = "local") -> Objectives:
    """values.yaml's `slo:` with the profile's file on top."""
    slo = chart_values(profile)["slo"]
    if slo["latencyTarget"] != 0.95:
        raise ValueError("the harness judges latency as a p95; values.yaml slo.latencyTarget must stay 0.95")
    return Objectives(availability=float(slo["availabilityTarget"]), latency_p95=float(slo["latencyThresholdSeconds"]),
                      error_ratio=float(slo["errorRateTarget"]), db_query_p95=float(slo["dbQueryP95Seconds"]),
                      window_days=int(slo["windowDays"]), scale_out_seconds=float(slo["autoscalingResponseSeconds"]))
