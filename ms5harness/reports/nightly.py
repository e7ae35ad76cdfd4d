"""The nightly resilience report: run_dir/report.html from the run's summary.json (schema 1) and the
trend figures of the nightly runs before it, followed by the suites' JUnit cases of the run directory.
Everything shown is prepared here; reports/templates/nightly.html.j2 and its partials lay it out."""

from __future__ import annotations

from pathlib import Path

from ms5harness.reports import plots, templating, trends
from ms5harness.reports.html import results
from ms5harness.reports.junit import Case, run_cases

SIDES = (("clients", "clients"), ("entry_point", "entry point"), ("server", "server"))
WINDOW = (("load_start", "load started"), ("fault_start", "fault window opened"), ("fault_end", "fault window closed"),
          ("rollback_end", "rollback finished"), ("load_end", "load ended"))
GATE_ORDER = {False: 0, None: 1, True: 2}  # failed, not evaluated, passed
TRENDS = (("scores", "Score per service", "score", "score"),
          ("fault_p95", "Clients' p95 under fault", "p95", "p95 (s)"),
          ("time_to_recover", "Time to recover", "time_to_recover", "seconds"),
          ("capacity", "Capacity: requests/s through the entry point with every objective held", "rate", "req/s"),
          ("scale_out", "HPA scale-out: load step to a new replica serving", "seconds", "seconds"))


def phases(experiment: dict) -> list[dict]:
    """Each phase with its sides in a fixed order; a side that was not measured is None."""
    return [{**p, "sides": [(label, p.get(key)) for key, label in SIDES]} for p in experiment["phases"]]


def timeline(experiment: dict) -> list[dict]:
    """The fault window, each fault and its undoing, each alert's firing and resolution, in time order;
    moments that were not recorded are left out."""
    moments = [(experiment["window"].get(key), what) for key, what in WINDOW]
    for fault in experiment["faults"]:
        moments += [(fault["at"], f"fault: {fault['what']}"), (fault["undone_at"], f"undone: {fault['what']}")]
    for alert in experiment["alerts"]:
        expected = "expected" if alert["expected"] else "unexpected"
        unresolved = "" if alert["resolved_at"] is not None else ", not resolved by the end of the run"
        moments += [(alert["starts_at"], f"alert {alert['name']} fired ({alert['severity']}, {expected}{unresolved})"),
                    (alert["resolved_at"], f"alert {alert['name']} resolved")]
    return [{"time": at, "what": what} for at, what in sorted((m for m in moments if m[0] is not None),
                                                               key=lambda m: m[0])]


def experiment_view(experiment: dict) -> dict:
    """An experiment attempt as its section shows it: chart, phases by side, gates failed first, timeline."""
    return {**experiment, "chart": plots.experiment_chart(experiment), "phases": phases(experiment),
            "gates": sorted(experiment["gates"], key=lambda g: GATE_ORDER[g["passed"]]),
            "timeline": timeline(experiment)}


def trend_views(points: list[dict]) -> list[dict]:
    """Per trend measure: a chart and a table of its figure for each service or experiment, per run."""
    labels = [templating.utc(p["time"], "%m-%d %H:%M") for p in points]
    views = []
    for key, title, measure, unit in TRENDS:
        names = sorted({name for p in points for name in p[key]})
        if not names:
            continue
        columns = {name: [p[key].get(name) for p in points] for name in names}
        views.append({"title": title, "measure": measure, "names": names,
                      "chart": plots.trend_chart(labels, columns, unit),
                      "rows": [{"run_id": p["run_id"], "passed": p["passed"], "figures": [p[key].get(n) for n in names]}
                               for p in points]})
    return views


def suite_cases(run_dir: Path) -> list[Case]:
    """The suites' JUnit cases; junit-nightly.xml holds the gates, which the report has shown already."""
    return [c for c in run_cases(run_dir) if c.suite != "nightly"]


def write_nightly_report(run_dir: Path, summary: dict, history: list[dict]) -> Path:
    """history is trends.history() of the runs before this one; the trends show it and this run, and
    are left out when there is no earlier run to compare with."""
    points = [*history, trends.point(summary)] if history else []
    page = templating.render("nightly.html.j2", title=f"MS5 nightly {summary['run_id']}", summary=summary,
                             experiments=[experiment_view(e) for e in summary["experiments"]],
                             trends=trend_views(points), **results(suite_cases(run_dir)))
    out = run_dir / "report.html"
    run_dir.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
