"""Service levels over a window, as each side saw them, and the verdicts against the objectives.

Three sides see the same traffic: the clients (every request Locust made, from its request log),
the entry point (nginx's access log) and the backend (its Prometheus metrics). Each gives the
same `Figures`; a verdict needs the figures of a window with traffic: no requests is "no data",
never a pass, and a counter series that does not exist yet is zero, never missing data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone

from prometheus_api_client import PrometheusConnect

from ms5harness.objectives import Objectives

API = 'job="backend", handler!~"/health.*|/metrics"'
REQUESTS = f"http_requests_total{{{API}}}"
ERRORS = f'http_requests_total{{{API}, status=~"5.."}}'
BUCKETS = f"http_request_duration_seconds_bucket{{{API}}}"
DB_BUCKETS = 'ms5_db_query_duration_seconds_bucket{job="backend"}'  # the API's own queries, not the workers'
# 1 while an API replica answers its scrape: the chart's ms5:api_up:bool, computed at every scrape here
# (the recording rule is evaluated every 30 s, too coarse for a 20 s phase).
API_UP = '((sum(up{job="backend"}) or vector(0)) > bool 0)'
PROMETHEUS_TIMEOUT_SECONDS = 15
MIN_SCRAPES = 3  # the shortest window whose counters show growth: three scrapes


@dataclass(frozen=True)
class Sample:
    """One request as a client or the entry point saw it: when it started, how long it took, whether it failed."""
    started: float
    seconds: float
    failed: bool

    @property
    def ended(self) -> float:
        return self.started + self.seconds


@dataclass
class Figures:
    requests: float | None = None
    failures: float | None = None
    availability: float | None = None
    error_ratio: float | None = None
    p50: float | None = None
    p95: float | None = None
    db_query_p95: float | None = None  # the backend's PostgreSQL queries: only the server side sees them

    def as_dict(self) -> dict:
        return asdict(self)


MEASURES = tuple(f.name for f in fields(Figures) if f.name not in ("requests", "failures"))


def quantile(values: list[float], q: float) -> float | None:
    """The nearest-rank quantile (what a percentile of recorded requests means), None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def sample_figures(samples: list[Sample], start: float, end: float) -> Figures:
    """Figures of the requests made in [start, end): exact counts and percentiles."""
    return figures_of([s for s in samples if start <= s.started < end])


def figures_of(inside: list[Sample]) -> Figures:
    if not inside:
        return Figures(requests=0, failures=0)
    failures = sum(s.failed for s in inside)
    ratio = failures / len(inside)
    latencies = [s.seconds for s in inside]
    return Figures(len(inside), failures, 1 - ratio, ratio, quantile(latencies, 0.5), quantile(latencies, 0.95))


def counted(series: str, window: str, by: str = "") -> str:
    """How much a counter grew over the window, summed. increase() cannot see the growth of a series
    born inside the window before its first scrape (a handler's first request, a new status code,
    a new pod): such series count from zero, to their highest value in the window, so a series that
    went stale before the window's end (its pod left the endpoints) still counts; the others by
    increase()."""
    group = f" by ({by})" if by else ""
    old = f"sum{group} (increase({series}[{window}]) and {series} offset {window})"
    born = f"sum{group} (max_over_time({series}[{window}]) unless {series} offset {window})"
    return f"({old} + {born}) or {old} or {born}"


class Server:
    """The backend's side, from Prometheus: figures over a window and SLI series over a range."""

    def __init__(self, prometheus_url: str):
        self.prometheus = PrometheusConnect(url=prometheus_url, disable_ssl=True)

    def scalar(self, query: str, at: float) -> float | None:
        result = self.prometheus.custom_query(query, params={"time": at, "timeout": f"{PROMETHEUS_TIMEOUT_SECONDS}s"})
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if math.isnan(value) else value

    def availability(self, window: str, end: float, resolution: str) -> float | None:
        return self.scalar(f"avg_over_time({API_UP}[{window}:{resolution}])", end)

    def figures(self, start: float, end: float, resolution: float) -> Figures:
        """The backend's figures over [start, end] (availability sampled every `resolution` seconds, the
        scrape interval); failures are zero while no 5xx series exists."""
        # A phase shorter than two scrapes has no counter growth of its own to read: widen it backwards.
        window, step = f"{max(1, round(max(end - start, MIN_SCRAPES * resolution)))}s", f"{resolution:g}s"
        requests = self.scalar(counted(REQUESTS, window), end)
        if not requests:
            return Figures(requests=requests, availability=self.availability(window, end, step))
        failures = self.scalar(counted(ERRORS, window), end) or 0.0
        buckets = counted(BUCKETS, window, by="le")
        return Figures(requests, failures, self.availability(window, end, step),
                       failures / requests, self.scalar(f"histogram_quantile(0.5, {buckets})", end),
                       self.scalar(f"histogram_quantile(0.95, {buckets})", end),
                       self.scalar(f"histogram_quantile(0.95, {counted(DB_BUCKETS, window, by='le')})", end))

    def range(self, query: str, start: float, end: float, step: float) -> list[tuple[float, float | None]]:
        """One series over [start, end] every `step` seconds ([] when Prometheus has none)."""
        begin, stop = (datetime.fromtimestamp(t, tz=timezone.utc) for t in (start, end))
        result = self.prometheus.custom_query_range(query, begin, stop, f"{step:g}s")
        points = [(float(t), float(v)) for t, v in result[0]["values"]] if result else []
        return [(t, None if math.isnan(v) else v) for t, v in points]  # 0/0 (no requests) is no data

    @staticmethod
    def sli_queries(rate_window: str) -> dict[str, str]:
        """p50, p95 and the 5xx ratio of the backend over a sliding `rate_window`."""
        buckets = f"sum by (le) (rate({BUCKETS}[{rate_window}]))"
        errors = f"(sum(rate({ERRORS}[{rate_window}])) or 0 * sum(rate({REQUESTS}[{rate_window}])))"
        return {"p50": f"histogram_quantile(0.5, {buckets})", "p95": f"histogram_quantile(0.95, {buckets})",
                "error_ratio": f"{errors} / sum(rate({REQUESTS}[{rate_window}]))"}

    def sli_series(self, start: float, end: float, step: float, rate_window: str) -> dict[str, list]:
        return {name: self.range(q, start, end, step) for name, q in self.sli_queries(rate_window).items()}


@dataclass
class Verdict:
    objective: str
    value: float | None
    target: str
    met: bool

    def line(self) -> str:
        shown = "no data" if self.value is None else f"{self.value:.4g}"
        return f"{self.objective:<20} {shown:>10}  target {self.target:<10} {'met' if self.met else 'BREACHED'}"


SECONDS_MEASURES = ("p50", "p95", "db_query_p95")
SIDES_OF = {"db_query_p95": ("server",)}  # a measure not listed here is seen by every side


@dataclass(frozen=True)
class Threshold:
    """One measure's bound: availability must reach it, the others stay below it."""
    measure: str
    bound: float

    @property
    def higher_is_better(self) -> bool:
        return self.measure == "availability"

    def measured_by(self, side: str) -> bool:
        return side in SIDES_OF.get(self.measure, (side,))

    @property
    def target(self) -> str:
        unit = "s" if self.measure in SECONDS_MEASURES else ""
        return f"{'>=' if self.higher_is_better else '<'} {self.bound:g}{unit}"

    def met(self, value: float | None) -> bool:
        if value is None:
            return False
        return value >= self.bound if self.higher_is_better else value < self.bound


OBJECTIVE_OF = {"availability": "availability", "p95": "latency_p95", "error_ratio": "error_ratio",
                "db_query_p95": "db_query_p95"}  # gated measure -> its objective
GATED_MEASURES = tuple(OBJECTIVE_OF)


def thresholds(objectives: Objectives) -> tuple[Threshold, ...]:
    return tuple(Threshold(measure, getattr(objectives, objective)) for measure, objective in OBJECTIVE_OF.items())


def verdicts(figures: Figures, objectives: Objectives, side: str) -> list[Verdict]:
    """Each objective the side measures, judged on its figures (no figure is no data: not met)."""
    return [Verdict(f"{side} {t.measure}", getattr(figures, t.measure), t.target, t.met(getattr(figures, t.measure)))
            for t in thresholds(objectives) if t.measured_by(side)]


def history(prometheus_url: str, end: float, seconds: int = 900, step: int = 15) -> dict:
    """Each SLI over a sliding minute, and the scrape targets up per job, every `step` seconds over the
    `seconds` before `end`: how the service behaved in the minutes around a failure."""
    server = Server(prometheus_url)
    queries = {**server.sli_queries("1m"), "availability": f"avg_over_time({API_UP}[1m:{step}s])",
               "scrape targets up": "sum by (job) (up)"}
    begin, stop = (datetime.fromtimestamp(t, tz=timezone.utc) for t in (end - seconds, end))
    return {name: {"query": query, "series": server.prometheus.custom_query_range(query, begin, stop, f"{step}s")}
            for name, query in queries.items()}
