"""What one experiment under load measured, from its recorded timeline: phases, series, time to
detect and to recover, the gates and the verdict. Pure functions of recorded data, so a report
can be recomputed (and unit-tested) from a run's files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ms5harness.objectives import Objectives
from ms5harness.resilience.plan import SEVERITY_WEIGHTS, Entry
from ms5harness.slo import Figures, Sample, Threshold, sample_figures

SIDES = ("clients", "entry_point", "server")
REQUIRED_SIDES = ("clients", "server")  # the entry point's log may be unreadable on a user's cluster


def timestamp(iso: str) -> float:
    """A journal time (Chaos Toolkit writes naive UTC) as epoch seconds."""
    moment = datetime.fromisoformat(iso)
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


@dataclass(frozen=True)
class Window:
    load_start: float
    fault_start: float
    fault_end: float
    rollback_end: float
    load_end: float

    def phases(self) -> dict[str, tuple[float, float]]:
        return {"baseline": (self.load_start, self.fault_start), "fault": (self.fault_start, self.fault_end),
                "recovery": (self.fault_end, self.load_end)}


@dataclass(frozen=True)
class Hypothesis:
    """What the journal says about the experiment itself."""
    steady_state_before: bool
    method: bool
    steady_state_after: bool
    detail: str

    @property
    def judged(self) -> bool:
        return self.steady_state_before and self.method


def hypothesis(journal: dict, chaos_exit: int) -> Hypothesis:
    states = journal.get("steady_states") or {}
    before, after = states.get("before"), states.get("after")
    run = journal.get("run") or []
    failed = [r["activity"]["name"] for r in run if r.get("status") != "succeeded"]
    problems = []
    if not (before and before.get("steady_state_met")):
        problems.append("steady state not met before the method")
    if not run:
        problems.append("the method never ran")
    if failed:
        problems.append(f"activities failed: {', '.join(failed)}")
    if not (after and after.get("steady_state_met")):
        problems.append("steady state not met after the method")
    if journal.get("status") != "completed" or chaos_exit != 0:
        problems.append(f"chaos run ended {journal.get('status', 'without a journal')} (exit {chaos_exit})")
    return Hypothesis(bool(before and before.get("steady_state_met")), bool(run) and not failed,
                      bool(after and after.get("steady_state_met")), "; ".join(problems))


def window(journal: dict, load_start: float, load_end: float) -> Window | None:
    """The fault window: from the method's first action (the injection) to the method's end."""
    run = journal.get("run") or []
    if not run:
        return None
    actions = [r for r in run if r["activity"].get("type") == "action"] or run
    fault_start = min(timestamp(r["start"]) for r in actions)
    fault_end = max(timestamp(r["end"]) for r in run)
    rollbacks = journal.get("rollbacks") or []
    rollback_end = max([timestamp(r["end"]) for r in rollbacks] + [fault_end])
    return Window(load_start, fault_start, fault_end, rollback_end, load_end)


def phase_samples(samples: list[Sample], window: Window) -> dict[str, list[Sample]]:
    """Each request in one phase: the fault's if it was in flight at any moment of the fault window
    (made just before the injection, or hung through it and failed after), else the phase it was in."""
    phases: dict[str, list[Sample]] = {"baseline": [], "fault": [], "recovery": []}
    for s in samples:
        if s.started < window.fault_end and s.ended >= window.fault_start:
            phases["fault"].append(s)
        elif s.ended < window.fault_start:
            phases["baseline"].append(s)
        else:
            phases["recovery"].append(s)
    return phases


def data_figures(journal: dict) -> dict:
    """Acknowledged writes and lost ones, tasks submitted and completed, from the probes' outputs."""
    outputs = [r["output"] for r in journal.get("run") or [] if isinstance(r.get("output"), dict)]
    writes = [o for o in outputs if "acknowledged" in o]
    tasks = [o for o in outputs if "queued" in o and "completed" in o]
    return {"writes_acknowledged": sum(o["acknowledged"] for o in writes) if writes else None,
            "writes_lost": sum(len(o["lost"]) for o in writes) if writes else None,
            "tasks_submitted": sum(o["queued"] for o in tasks) if tasks else None,
            "tasks_completed": sum(o["completed"] for o in tasks) if tasks else None}


STEPPED_VERDICT = re.compile(r"\(details: (\S+steps\.json)\)")  # how the failed stepped-load probe names its file


def capacity_figures(journal: dict) -> dict | None:
    """The stepped load's verdict (chaos.autoscalers' scale_out_under_stepped_load), whether the probe
    passed (its output) or failed (the file its error names): the capacity, the scale-out by phase,
    every step. None when the experiment steps no load."""
    for run in journal.get("run") or []:
        output = run.get("output")
        if not isinstance(output, dict):
            found = STEPPED_VERDICT.search(" ".join(map(str, run.get("exception") or [])))
            try:
                output = json.loads(Path(found.group(1)).read_text()) if found else None
            except (OSError, ValueError):
                output = None
        if isinstance(output, dict) and "capacity" in output and "steps" in output:
            return {key: output[key] for key in ("capacity", "scale_out", "scale_out_users", "within_seconds",
                                                 "steps", "problems")}
    return None


def client_series(samples: list[Sample], start: float, end: float, step: float, trailing: float) -> dict[str, list]:
    """Each step's figures over the trailing window (as Prometheus' rate() sees the server)."""
    out: dict[str, list] = {"t": [], "rps": [], "p50": [], "p95": [], "error_ratio": []}
    t = start + step
    while t <= end:
        figures = sample_figures(samples, t - trailing, t)
        out["t"].append(round(t, 3))
        out["rps"].append(round(figures.requests / trailing, 3))
        for name in ("p50", "p95", "error_ratio"):
            out[name].append(getattr(figures, name))
        t += step
    return out


def within(objectives: Objectives, p95: float | None, error_ratio: float | None) -> bool:
    """One step of a series within the objectives; a step without data is not."""
    return p95 is not None and error_ratio is not None and p95 < objectives.latency_p95 \
        and error_ratio < objectives.error_ratio


def step_states(series: dict[str, dict], objectives: Objectives) -> list[tuple[float, bool]]:
    """(time, every side within objective) per client step; a server step counts when Prometheus has one."""
    server = series.get("server") or {}
    server_at = dict(zip(server.get("t", []), zip(server.get("p95", []), server.get("error_ratio", []))))
    states = []
    clients = series["clients"]
    for t, p95, ratio in zip(clients["t"], clients["p95"], clients["error_ratio"]):
        ok = within(objectives, p95, ratio)
        nearest = min(server_at, key=lambda s: abs(s - t), default=None)
        if nearest is not None and abs(nearest - t) <= series.get("step", 5):
            ok = ok and within(objectives, *server_at[nearest])
        states.append((t, ok))
    return states


def time_to_recover(states: list[tuple[float, bool]], fault_start: float, hold: float) -> float | None:
    """Fault start -> the first moment from which every SLI stayed within objective for `hold` seconds;
    None when that never happened before the load ended."""
    after = [(t, ok) for t, ok in states if t >= fault_start]
    for i, (t, ok) in enumerate(after):
        if not ok:
            continue
        span = [s for s in after[i:] if s[0] <= t + hold]
        if span[-1][0] >= t + hold - 1e-6 and all(good for _, good in span):
            return round(t - fault_start, 1)
    return None


def time_to_detect(alerts: list[dict], name: str, fault_start: float) -> float | None:
    """Fault start -> the named alert firing (as AlertManager saw it); alerts firing before the fault do not count."""
    fired = [a["starts_at"] for a in alerts if a["name"] == name and a["starts_at"] >= fault_start]
    return round(min(fired) - fault_start, 1) if fired else None


def burn_rate(figures: Figures, objectives: Objectives) -> float | None:
    """How many times faster than the availability budget allows the clients' failures burned it."""
    return None if figures.error_ratio is None else round(figures.error_ratio / objectives.error_budget, 2)


@dataclass
class Gate:
    name: str
    phase: str | None
    measure: str
    severity: str
    target: str
    values: dict
    passed: bool
    detail: str = ""

    @property
    def weight(self) -> int:
        return SEVERITY_WEIGHTS[self.severity]

    def as_dict(self) -> dict:
        return {**self.__dict__, "weight": self.weight}


def phase_gate(phase: str, threshold: Threshold, by_side: dict[str, Figures | None], severity: str) -> Gate:
    """One measure of one phase, judged on every side that measured it; a required side without data fails."""
    values = {side: None if f is None else getattr(f, threshold.measure) for side, f in by_side.items()
              if threshold.measured_by(side)}
    problems = []
    for side, value in values.items():
        if value is None:
            if side in REQUIRED_SIDES:
                problems.append(f"{side}: no data")
        elif not threshold.met(value):
            problems.append(f"{side}: {value:.4g}")
    return Gate(f"{phase} {threshold.measure} {threshold.target}", phase, threshold.measure, severity,
                threshold.target, values, not problems, "; ".join(problems))


@dataclass
class Assessment:
    gates: list[Gate] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.gates) and all(g.passed for g in self.gates)

    @property
    def reason(self) -> str:
        return "; ".join(f"{g.name}: {g.detail or 'failed'}" for g in self.gates if not g.passed)


def assess(entry: Entry, hyp: Hypothesis, phases: dict[str, dict[str, Figures | None]], data: dict,
           ttr: float | None, ttd: float | None) -> Assessment:
    """Every gate of the entry: the hypothesis, each phase's objectives on each side, detection,
    recovery and data loss. Baseline, recovery, hypothesis and data are critical; the fault
    phase, detection and recovery time carry the entry's severity."""
    gates = [Gate("steady state met before the fault", None, "hypothesis", "critical", "met",
                  {"journal": hyp.steady_state_before}, hyp.steady_state_before, hyp.detail),
             Gate("every method activity succeeded", None, "hypothesis", "critical", "succeeded",
                  {"journal": hyp.method}, hyp.method, hyp.detail),
             Gate("steady state met after the fault", None, "hypothesis", "critical", "met",
                  {"journal": hyp.steady_state_after}, hyp.steady_state_after, hyp.detail)]
    if hyp.judged:
        for phase, by_side in phases.items():
            severity = entry.severity if phase == "fault" else "critical"
            gates += [phase_gate(phase, t, by_side, severity) for t in entry.gates[phase]]
        gates.append(Gate(f"recovered within {entry.recover_within:g}s", None, "time_to_recover", entry.severity,
                          f"<= {entry.recover_within:g}s", {"clients+server": ttr},
                          ttr is not None and ttr <= entry.recover_within,
                          "" if ttr is not None else "the SLIs never held their objectives for the hold time"))
        if entry.alert is not None:
            gates.append(Gate(f"alert {entry.alert.name} fired within {entry.alert.within:g}s", None, "time_to_detect",
                              entry.severity, f"<= {entry.alert.within:g}s", {"alertmanager": ttd},
                              ttd is not None and ttd <= entry.alert.within, "" if ttd is not None else "never fired"))
    if data["writes_lost"] is not None:
        gates.append(Gate("no acknowledged write lost", None, "writes_lost", "critical", "0",
                          {"journal": data["writes_lost"]}, data["writes_lost"] == 0))
    if data["tasks_submitted"] is not None:
        gates.append(Gate("every submitted task completed", None, "tasks_completed", "critical",
                          f"{data['tasks_submitted']}", {"journal": data["tasks_completed"]},
                          data["tasks_completed"] == data["tasks_submitted"]))
    return Assessment(gates)
