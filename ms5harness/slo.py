"""The MS5 service-level objectives, judged by Prometheus over one window (a load run).

Each objective is a PromQL ratio or quantile over the window's own range, evaluated at its end;
a query that returns nothing is a failed verdict (no traffic is not a pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from prometheus_api_client import PrometheusConnect

API = 'job="backend", handler!~"/health.*|/metrics"'


def over(query: str, window_seconds: int) -> str:
    """The query with its {window} placeholder set (str.format would trip on PromQL's own braces)."""
    return query.replace("{window}", f"{int(window_seconds)}s")


@dataclass(frozen=True)
class Objective:
    name: str
    query: str  # with {window}, a PromQL duration such as 120s
    target: float
    higher_is_better: bool
    unit: str = ""

    def promql(self, window_seconds: int) -> str:
        return over(self.query, window_seconds)

    def met(self, value: float) -> bool:
        return value >= self.target if self.higher_is_better else value < self.target


OBJECTIVES = (
    Objective("availability", "avg_over_time(ms5:api_up:bool[{window}])", 0.999, True),
    Objective("latency p95", f"histogram_quantile(0.95, sum by (le) (increase(http_request_duration_seconds_bucket"
                             f"{{{API}}}[{{window}}])))", 0.200, False, "s"),
    Objective("error ratio", f"sum(increase(http_requests_total{{{API}, status=~\"5..\"}}[{{window}}])) "
                             f"/ sum(increase(http_requests_total{{{API}}}[{{window}}]))", 0.01, False),
)
REQUESTS = f"sum(increase(http_requests_total{{{API}}}[{{window}}]))"


@dataclass
class Verdict:
    objective: str
    value: float | None
    target: str
    met: bool

    def line(self) -> str:
        shown = "no data" if self.value is None else f"{self.value:.4g}"
        return f"{self.objective:<14} {shown:>10}  target {self.target:<10} {'met' if self.met else 'BREACHED'}"


def judge(objective: Objective, value: float | None) -> Verdict:
    target = f"{'>=' if objective.higher_is_better else '<'} {objective.target:g}{objective.unit}"
    return Verdict(objective.name, value, target, value is not None and objective.met(value))


def scalar(prometheus: PrometheusConnect, query: str, at: float) -> float | None:
    result = prometheus.custom_query(query, params={"time": at})
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if value != value else value  # NaN (0/0: no requests) is no data


def evaluate(prometheus_url: str, window_seconds: int, at: float) -> tuple[list[Verdict], float | None]:
    """Every objective over the `window_seconds` ending at `at`, and the request count Prometheus saw."""
    prometheus = PrometheusConnect(url=prometheus_url, disable_ssl=True)
    verdicts = [judge(o, scalar(prometheus, o.promql(window_seconds), at)) for o in OBJECTIVES]
    return verdicts, scalar(prometheus, over(REQUESTS, window_seconds), at)


def history(prometheus_url: str, end: float, seconds: int = 900, step: int = 15) -> dict:
    """Each SLI over a sliding minute, and the scrape targets up per job, every `step` seconds over the
    `seconds` before `end`: how the service behaved in the minutes around a failure."""
    prometheus = PrometheusConnect(url=prometheus_url, disable_ssl=True)
    queries = {o.name: o.promql(60) for o in OBJECTIVES} | {"scrape targets up": "sum by (job) (up)"}
    start, stop = (datetime.fromtimestamp(t, tz=timezone.utc) for t in (end - seconds, end))
    return {name: {"query": query, "series": prometheus.custom_query_range(query, start, stop, f"{step}s")}
            for name, query in queries.items()}
