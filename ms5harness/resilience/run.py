"""One plan entry played for real: the floor's load, a baseline, the Chaos Toolkit experiment,
a recovery phase; then every source read back and judged (see measures.py, score.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ms5harness import objectives as objectives_mod
from ms5harness import names, paths, slo
from ms5harness.errors import HarnessError
from ms5harness.load import SCRAPE_SETTLE_SECONDS, LoadRun
from ms5harness.resilience import measures, score, sources
from ms5harness.resilience.plan import Entry
from ms5harness.verify.stack import Stack

SERIES_STEP_SECONDS = 5
RATE_WINDOW_SCRAPES = 4  # a sliding rate() over four scrapes: never empty, lags at most this much
CHAOS_INTERRUPT_GRACE_SECONDS = 60  # after SIGINT, for the control to roll the fault back
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # Chaos Toolkit colours its log lines even into a pipe


class Progress:
    """One line per phase on the terminal: the entry, its phase, elapsed time and what remains."""

    def __init__(self, total_seconds: float, echo=print):
        self.started, self.total, self.echo = time.monotonic(), total_seconds, echo
        self.label = ""

    def phase(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        remaining = max(0.0, self.total - elapsed)
        self.echo(f"[{self.label}] {text} (elapsed {elapsed / 60:.1f} min, about {remaining / 60:.1f} min left)")


def sli_window(profile: str) -> float:
    """How far back each step of an SLI series looks, on both sides: a few scrapes."""
    return RATE_WINDOW_SCRAPES * objectives_mod.scrape_seconds(profile)


def expected_seconds(entry: Entry) -> float:
    """What an entry usually takes: its phases, the experiment's own steady-state checks, the settle."""
    return entry.load.baseline + entry.load.fault + entry.load.recovery + 60 + SCRAPE_SETTLE_SECONDS


def chaos_run(entry: Entry, stack: Stack, journal: Path, log: Path, bound: float, echo) -> int:
    """`chaos run` as typed, with the plan's fault length as a variable; its output streamed and kept.
    Past `bound` it is interrupted (its control rolls back), then killed."""
    env = {**os.environ, "MS5H_NAMESPACE": stack.namespace, "MS5H_API_URL": stack.url("nginx")}
    if stack.target.embedded is None:
        env["MS5H_KUBECONFIG"] = str(stack.target.kubeconfig)
    cmd = [str(Path(sys.executable).parent / "chaos"), "--log-file", str(log.with_suffix(".debug.log")), "run",
           "--journal-path", str(journal), "--var", f"fault_seconds:int={int(entry.load.fault)}", str(entry.file)]
    proc = subprocess.Popen(cmd, env=env, cwd=paths.REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    timer = threading.Timer(bound, lambda: proc.send_signal(signal.SIGINT))
    timer.start()
    try:
        with log.open("w") as out:
            for line in proc.stdout:
                line = ANSI_COLOUR.sub("", line)
                out.write(line)
                echo(f"    chaos: {line.rstrip()}")
        return proc.wait(timeout=CHAOS_INTERRUPT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
    finally:
        timer.cancel()


def series(samples: list[slo.Sample], server: slo.Server, start: float, end: float, trailing: float) -> dict:
    """The clients' and the server's p50, p95 and error ratio every step, over the same trailing window."""
    window = f"{trailing:g}s"
    server_series = server.sli_series(start, end, SERIES_STEP_SECONDS, window)
    times = [t for t, _ in server_series["p95"]] or [t for t, _ in server_series["error_ratio"]]
    by_name = {name: dict(points) for name, points in server_series.items()}
    return {"step": SERIES_STEP_SECONDS,
            "clients": measures.client_series(samples, start, end, SERIES_STEP_SECONDS, trailing),
            "server": {"t": times, **{name: [by_name[name].get(t) for t in times] for name in by_name}}}


def play(stack: Stack, entry: Entry, attempt: int, out_dir: Path, progress: Progress) -> dict:
    """Run the entry once and return its summary (summary.json's experiments[] item)."""
    tag = f"{entry.name}-{attempt}"
    journal_path, chaos_log = out_dir / "journals" / f"{tag}.json", out_dir / "chaos" / f"{tag}.log"
    journal_path.parent.mkdir(parents=True, exist_ok=True)
    chaos_log.parent.mkdir(parents=True, exist_ok=True)
    load = LoadRun(stack, out_dir / "load" / tag, entry.load.users, entry.load.spawn_rate, int(entry.load.bound))
    with sources.AlertWatcher(stack.url("alertmanager")) as watcher:
        load.start(progress.echo)
        try:
            progress.phase(f"baseline: {entry.load.baseline:g}s of load")
            time.sleep(entry.load.baseline)
            progress.phase(f"fault: chaos run {entry.file.name} (fault {entry.load.fault:g}s)")
            chaos_exit = chaos_run(entry, stack, journal_path, chaos_log, entry.load.bound - entry.load.baseline,
                                   progress.echo)
            progress.phase(f"recovery: {entry.load.recovery:g}s of load")
            time.sleep(entry.load.recovery)
        finally:
            load.stop()
            samples = load.finish()
        time.sleep(SCRAPE_SETTLE_SECONDS)  # the last requests scraped, alerts resolved
    if not journal_path.exists():
        raise HarnessError(f"chaos run {entry.file.name} wrote no journal (exit {chaos_exit})", f"see {chaos_log}")
    journal = json.loads(journal_path.read_text())
    return judge(entry, attempt, stack, journal, chaos_exit, samples, load.judged_from, load.ended, watcher, out_dir)


def judge(entry: Entry, attempt: int, stack: Stack, journal: dict, chaos_exit: int, samples: list[slo.Sample],
          load_start: float, load_end: float, watcher: sources.AlertWatcher, out_dir: Path) -> dict:
    objectives = objectives_mod.load(stack.profile)
    hyp = measures.hypothesis(journal, chaos_exit)
    window = measures.window(journal, load_start, load_end)
    server = slo.Server(stack.url("prometheus"))
    scrape, trailing = objectives_mod.scrape_seconds(stack.profile), sli_window(stack.profile)
    entry_samples, entry_missing = sources.entry_point_samples(stack.kube, stack.namespace,
                                                               names.component_selector("nginx"),
                                                               load_start)
    entry_log = out_dir / "load" / f"{entry.name}-{attempt}" / "entry-point.csv"  # beside the clients' requests.csv
    entry_log.write_text("".join(f"{s.started:.3f},{s.seconds:.4f},{int(s.failed)}\n" for s in entry_samples))
    phases, phase_rows, ttr, ttd, burn, line = {}, [], None, None, None, []
    if window is not None:
        clients, entry_point = measures.phase_samples(samples, window), measures.phase_samples(entry_samples, window)
        for name, (start, end) in window.phases().items():
            by_side = {"clients": slo.figures_of(clients[name]),
                       "entry_point": slo.figures_of(entry_point[name]) if entry_samples else None,
                       "server": server.figures(start, end, scrape)}
            phases[name] = by_side
            phase_rows.append({"name": name, "start": start, "end": end,
                               **{side: f.as_dict() if f else None for side, f in by_side.items()},
                               "burn_rate": measures.burn_rate(by_side["clients"], objectives)})
        line = series(samples, server, load_start, load_end, trailing)
        ttr = measures.time_to_recover(measures.step_states(line, objectives), window.fault_start, entry.hold)
        if entry.alert is not None:
            ttd = measures.time_to_detect(watcher.alerts(), entry.alert.name, window.fault_start)
        burn = phase_rows[1]["burn_rate"]
    data = measures.data_figures(journal)
    assessment = measures.assess(entry, hyp, phases, data, ttr, ttd)
    gates = [g.as_dict() for g in assessment.gates]
    return {
        "name": entry.name, "title": journal.get("experiment", {}).get("title", entry.name), "service": entry.service,
        "severity": entry.severity, "weight": entry.weight, "attempt": attempt,
        "passed": assessment.passed, "reason": assessment.reason,
        "score": score.experiment_score(gates, hyp.judged, burn, ttr, entry.recover_within),
        "hypothesis": {"steady_state_before": hyp.steady_state_before, "method": hyp.method,
                       "steady_state_after": hyp.steady_state_after, "chaos_exit": chaos_exit, "detail": hyp.detail,
                       "journal": f"journals/{entry.name}-{attempt}.json"},
        "window": window.__dict__ if window else {"load_start": load_start, "load_end": load_end},
        "phases": phase_rows, "gates": gates,
        "time_to_detect": ttd, "time_to_recover": ttr, "recover_within": entry.recover_within,
        "alert_expected": entry.alert.__dict__ if entry.alert else None,
        "alerts": [{**a, "expected": entry.alert is not None and a["name"] == entry.alert.name}
                   for a in watcher.alerts() if a["starts_at"] >= load_start],
        "alerts_already_firing": sorted({a["name"] for a in watcher.alerts() if a["starts_at"] < load_start}),
        "alert_watch_errors": watcher.errors,
        "entry_point_missing": entry_missing,
        "faults": faults(journal),
        "data": data, "capacity": measures.capacity_figures(journal), "series": line or {}, "events": sources.namespace_events(stack.kube, stack.namespace, load_start),
        "load": {"users": entry.load.users, "client_requests": len(samples),
                 "client_failures": sum(s.failed for s in samples)},
    }


def faults(journal: dict) -> list[dict]:
    """What the method did and when, and when the rollbacks ran: the fault's own timeline."""
    rollbacks = journal.get("rollbacks") or []
    undone = max((measures.timestamp(r["end"]) for r in rollbacks), default=None)
    return [{"what": r["activity"]["name"], "type": r["activity"].get("type"), "at": measures.timestamp(r["start"]),
             "until": measures.timestamp(r["end"]), "status": r.get("status"),
             "output": json.dumps(r.get("output"))[:300] if r.get("output") is not None else "",
             "undone_at": undone if r["activity"].get("type") == "action" else None}
            for r in journal.get("run") or []]
