"""What changed since the previous run of the same kind: tests that regressed or recovered, and
service levels that moved. A nightly job is read for "what broke since last night", so the
report leads with the difference, not the whole table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ms5harness.reports.junit import run_cases
from ms5harness.reports.service_levels import load_runs

RUN_STAMP = re.compile(r"\d{8}T\d{6}Z$")
BROKEN = {"failed", "error"}


@dataclass
class Comparison:
    previous: str
    regressed: list[str] = field(default_factory=list)  # passed before, failing now
    recovered: list[str] = field(default_factory=list)  # failing before, passing now
    new_failures: list[str] = field(default_factory=list)  # failing now, not run before
    levels: list[tuple[str, float | None, float | None, str]] = field(default_factory=list)  # name, before, now, change

    @property
    def worse(self) -> bool:
        return bool(self.regressed or self.new_failures or any(c == "breached" for *_, c in self.levels))


def previous_run(run_dir: Path) -> Path | None:
    """The newest earlier run with the same name prefix ("nightly-", or none for test runs) that has results."""
    stamp = RUN_STAMP.search(run_dir.name)
    if stamp is None:
        return None
    prefix = run_dir.name[:stamp.start()]
    earlier = [d for d in run_dir.parent.iterdir()
               if d.is_dir() and d.name < run_dir.name and d.name.startswith(prefix)
               and RUN_STAMP.fullmatch(d.name[len(prefix):]) and any(d.glob("junit-*.xml"))]
    return max(earlier, key=lambda d: d.name, default=None)


def outcomes(run_dir: Path) -> dict[str, str]:
    return {c.name: c.outcome for c in run_cases(run_dir)}


def service_levels(run_dir: Path) -> dict[str, tuple[float | None, bool]]:
    """"<load run>: <objective>" -> (value, met)."""
    return {f"{label}: {v['objective']}": (v["value"], v["met"])
            for label, data in load_runs(run_dir) for v in data["verdicts"]}


def compare(run_dir: Path, previous: Path) -> Comparison:
    before, now = outcomes(previous), outcomes(run_dir)
    result = Comparison(previous.name)
    for name, outcome in sorted(now.items()):
        was = before.get(name)
        if outcome in BROKEN and was == "passed":
            result.regressed.append(name)
        elif outcome in BROKEN and was is None:
            result.new_failures.append(name)
        elif outcome == "passed" and was in BROKEN:
            result.recovered.append(name)
    levels_before, levels_now = service_levels(previous), service_levels(run_dir)
    for name in sorted(levels_before.keys() | levels_now.keys()):
        (old, old_met), (new, new_met) = levels_before.get(name, (None, None)), levels_now.get(name, (None, None))
        change = ("breached" if old_met and new_met is False else "recovered" if old_met is False and new_met
                  else "unchanged verdict")
        result.levels.append((name, old, new, change))
    return result


def since_previous(run_dir: Path) -> Comparison | None:
    """The comparison with the previous run of the same kind, or None for the first run."""
    previous = previous_run(run_dir)
    return None if previous is None else compare(run_dir, previous)
