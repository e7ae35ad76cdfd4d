"""A self-contained HTML report (no external assets) of a run directory: its JUnit results and, when
the run has them, the comparison with the previous run, the load runs' SLO verdicts and the chaos
journals. Markup lives in reports/templates/run.html.j2."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ms5harness.reports import comparison, journals, service_levels, templating
from ms5harness.reports.junit import Case, run_cases

OUTCOMES = ("passed", "failed", "error", "skipped")


def results(cases: list[Case]) -> dict:
    """The JUnit cases failures first, and how many ended each way: what the junit partial renders."""
    return {"cases": sorted(cases, key=lambda c: (c.outcome == "passed", c.suite, c.name)),
            "counts": {o: n for o in OUTCOMES if (n := sum(c.outcome == o for c in cases))}}


def write_report(run_dir: Path, title: str, steps: Sequence[Mapping[str, Any]] = ()) -> Path:
    """run_dir/report.html; steps are pipeline step records (name, outcome, seconds, detail) shown
    before the results, as summary.json keeps them."""
    page = templating.render("run.html.j2", title=title, steps=steps,
                             comparison=comparison.since_previous(run_dir),
                             load_runs=service_levels.load_runs(run_dir), journals=journals.entries(run_dir),
                             **results(run_cases(run_dir)))
    out = run_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out
