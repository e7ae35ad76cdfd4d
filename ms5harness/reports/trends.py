"""The nightly runs before this one, reduced to the figures whose drift matters night over night:
the score per service, and per experiment the clients' p95 under fault and the time to recover; for
the stepped load, the capacity and the HPA's scale-out time."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

SCHEMA_VERSION = 1


def number_or_none(value: object) -> float | None:
    """A figure of a summary is a number or None; anything else makes the summary malformed."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise ValueError(f"not a number: {value!r}")


def worst(values: Iterable[float | None]) -> float | None:
    """The highest figure of an experiment's repeated attempts, leaving out those not measured."""
    return max((v for v in values if v is not None), default=None)


def fault_p95(experiment: dict) -> float | None:
    """The clients' p95 in the fault phase: the latency users saw while the fault lasted."""
    fault = next((p for p in experiment["phases"] if p["name"] == "fault"), None)
    return None if fault is None or fault["clients"] is None else number_or_none(fault["clients"]["p95"])


def stepped_loads(attempts: dict[str, list[dict]]) -> list[tuple[str, list[dict]]]:
    """The experiments that stepped the load (autoscaling), with the verdict of each attempt's steps."""
    found = [(name, [e["capacity"] for e in runs if e.get("capacity")]) for name, runs in attempts.items()]
    return [(name, stepped) for name, stepped in found if stepped]


def capacity_rps(stepped: dict) -> float:
    """Requests/s of the highest step whose objectives all held; 0 when not even the first held."""
    return number_or_none(stepped["capacity"]["requests_per_second"]) if stepped["capacity"] else 0.0


def point(summary: dict) -> dict:
    """One run's trend figures; KeyError, TypeError or ValueError for a malformed summary."""
    attempts: dict[str, list[dict]] = {}
    for experiment in summary["experiments"]:
        attempts.setdefault(experiment["name"], []).append(experiment)
    return {"run_id": summary["run_id"], "time": number_or_none(summary["started"]), "passed": summary["passed"],
            "scores": {s["service"]: number_or_none(s["score"]) for s in summary["services"]},
            "fault_p95": {name: worst(fault_p95(e) for e in runs) for name, runs in attempts.items()},
            "time_to_recover": {name: worst(number_or_none(e["time_to_recover"]) for e in runs)
                                for name, runs in attempts.items()},
            "capacity": {name: min(capacity_rps(c) for c in stepped) for name, stepped in stepped_loads(attempts)},
            "scale_out": {name: worst(number_or_none((c["scale_out"] or {}).get("total")) for c in stepped)
                          for name, stepped in stepped_loads(attempts)}}


def read(path: Path) -> dict | None:
    """The trend figures of one summary.json, or None when it is unreadable, malformed or of another schema."""
    try:
        summary = json.loads(path.read_text())
        return point(summary) if summary.get("schema_version") == SCHEMA_VERSION else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def history(reports_dir: Path, before_run_id: str, limit: int = 14) -> list[dict]:
    """The trend figures of the last `limit` usable nightly runs before `before_run_id`, newest last.
    Run ids sort by time (nightly-YYYYMMDDTHHMMSSZ), so reading stops once enough were found."""
    found: list[dict] = []
    for run in sorted((d for d in reports_dir.glob("nightly-*") if d.name < before_run_id), reverse=True):
        if len(found) >= limit:
            break
        figures = read(run / "summary.json")
        if figures is not None:
            found.append(figures)
    return found[::-1]
