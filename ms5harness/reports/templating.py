"""The one Jinja2 environment every HTML report renders through (as Locust does for its own report:
data prepared in Python, markup in reports/templates). Autoescaped, so a test name, a log line or
an experiment title can never become markup; strict, so a template that names a missing value
fails the render instead of printing nothing; and its number filters show a value that was not
measured as "no data", never as 0."""

from __future__ import annotations

from datetime import datetime, timezone

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ms5harness.paths import REPO_ROOT

TEMPLATES = REPO_ROOT / "reports" / "templates"
NO_DATA = "no data"
LATENCIES = {"p50", "p95", "latency_p95", "db_query_p95"}
DURATIONS = {"time_to_detect", "time_to_recover", "recover_within", "seconds"}


def number(value: float | None, spec: str = ".4g") -> str:
    return NO_DATA if value is None else format(value, spec)


def integer(value: float | None) -> str:
    """Counts; Prometheus' are increases, so fractional, and shown rounded."""
    return number(value, ",.0f")


def seconds(value: float | None, spec: str = ".1f") -> str:
    return NO_DATA if value is None else f"{value:{spec}} s"


def latency(value: float | None) -> str:
    """Latencies are kept in seconds, the unit of the objectives they are compared with."""
    return seconds(value, ".3g")


def percent(value: float | None, spec: str = ".1f") -> str:
    return NO_DATA if value is None else f"{value * 100:{spec}} %"


def utc(epoch: float | None, spec: str = "%Y-%m-%d %H:%M:%SZ") -> str:
    return NO_DATA if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).strftime(spec)


def since(epoch: float | None, origin: float | None) -> str:
    """A moment as seconds after the origin (the load's start), the time axis of the charts."""
    return NO_DATA if epoch is None or origin is None else f"{epoch - origin:+.1f} s"


def measured(value: float | None, measure: str) -> str:
    """A value in the format of what it measures, for tables whose columns mix measures (gates)."""
    if measure in LATENCIES:
        return latency(value)
    if measure in DURATIONS:
        return seconds(value)
    if isinstance(value, int):
        return integer(value)
    return number(value, ".1f" if measure == "score" else ".4g")


ENVIRONMENT = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENVIRONMENT.filters.update(number=number, integer=integer, seconds=seconds, latency=latency, percent=percent,
                           utc=utc, since=since, measured=measured)


def render(template: str, **context: object) -> str:
    return ENVIRONMENT.get_template(template).render(**context)
