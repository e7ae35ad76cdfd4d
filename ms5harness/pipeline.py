"""The nightly pipeline: cluster -> deploy -> suites -> the resilience plan -> teardown -> report.

The steps are data (`STEPS`) run by one generic runner: each step declares the steps it needs,
and whether it runs even after a failure (teardown, report). Every step is recorded whatever it
raises; a step whose needs failed is shown as not run. The plan is validated before any step
runs, and nothing changes in the target beyond what an experiment declares and rolls back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ms5harness import deploy as deploy_mod
from ms5harness import objectives as objectives_mod
from ms5harness import paths
from ms5harness.errors import HarnessError
from ms5harness import target as target_mod
from ms5harness.kube.waits import WaitTimeout, poll
from ms5harness.reports import junit_out, trends
from ms5harness.reports.nightly import write_nightly_report
from ms5harness.resilience import plan as plan_mod
from ms5harness.resilience import run as run_mod
from ms5harness.resilience import score
from ms5harness.verify.stack import Stack

SCHEMA_VERSION = 1
SETTLE_TIMEOUT_SECONDS = 300  # between experiments: the API ready again before the next baseline
SUITES_TIMEOUT_SECONDS = 1800


@dataclass
class Step:
    name: str
    outcome: str = "not run"  # passed | failed | interrupted | not run
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Nightly:
    """Everything one nightly run knows; summary.json is written from it after every step."""
    run_id: str
    directory: Path
    kubeconfig: str | None
    profile: str
    namespace: str
    plan: plan_mod.Plan
    repeat: int
    only: list[str]
    echo: Callable[[str], None] = print
    keep_cluster: bool = False
    suites: tuple[str, ...] = ("suites",)  # what the suites step runs: suites/, or some of its files
    entry_url: str | None = None  # the entry point's public URL where nginx terminates TLS (verify.stack.Stack)
    started: float = field(default_factory=time.time)
    steps: list[Step] = field(default_factory=list)
    experiments: list[dict] = field(default_factory=list)
    target: target_mod.Target | None = None

    @property
    def passed(self) -> bool:
        ran = [s for s in self.steps if s.name != "report"]
        return all(s.outcome in ("passed", "skipped") for s in ran) and all(e["passed"] for e in self.experiments) \
            and bool(self.experiments)

    def summary(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION, "kind": "nightly", "run_id": self.run_id,
            "started": self.started, "finished": time.time(), "passed": self.passed,
            "target": {"kubeconfig": str(self.target.kubeconfig) if self.target else self.kubeconfig,
                       "embedded": bool(self.target and self.target.embedded), "namespace": self.namespace,
                       "profile": self.profile},
            "plan": {"path": str(self.plan.path), "repeat": self.repeat, "only": self.only},
            "objectives": objectives_mod.load(self.profile).as_dict(),
            "steps": [asdict(s) for s in self.steps if s.name != "report"],
            "experiments": self.experiments,
            "services": score.services(self.experiments),
            "repeats": score.repeats(self.experiments) if self.repeat > 1 else [],
            "score_formula": score.FORMULA,
        }

    def save(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "summary.json"
        path.write_text(json.dumps(self.summary(), indent=1, default=str))
        return path

    def user_kubeconfig(self) -> str | None:
        """What child processes are told: the user's kubeconfig, or nothing (they find the embedded cluster)."""
        return None if self.target is None or self.target.embedded is not None else str(self.target.kubeconfig)


def bring_up(run: Nightly) -> str:
    run.target = target_mod.resolve(run.kubeconfig, echo=run.echo, nodes=run.plan.nodes)
    return f"kubeconfig: {run.target.kubeconfig}" + (" (embedded cluster)" if run.target.embedded else "")


def install(run: Nightly) -> str:
    result = deploy_mod.deploy(run.target, run.profile, run.namespace, echo=run.echo)
    return f"{'deployed' if result.changed else 'unchanged'}: {len(result.workloads)} workloads ready in " \
           f"{result.seconds:.0f}s"


def verify(run: Nightly) -> str:
    """The verification suites as a user runs them, against the stack exactly as deployed."""
    junit = run.directory / "junit-suites.xml"
    env = {**os.environ, "MS5H_RUN_DIR": str(run.directory)}
    if run.user_kubeconfig():
        env["MS5H_KUBECONFIG"] = run.user_kubeconfig()
    proc = subprocess.run([sys.executable, "-m", "pytest", f"--junitxml={junit}", *run.suites, "-q", "-n", "auto",
                           "--no-deploy", f"--profile={run.profile}", f"--namespace={run.namespace}",
                           *([f"--entry-url={run.entry_url}"] if run.entry_url else [])],
                          cwd=paths.REPO_ROOT, env=env, timeout=SUITES_TIMEOUT_SECONDS)
    if proc.returncode == 5:
        raise HarnessError("pytest suites collected no tests", "check that suites/ is in the checkout")
    if proc.returncode != 0:
        raise HarnessError(f"the verification suites failed (exit {proc.returncode})", f"see {junit.name} in the report")
    return f"junit: {junit.name}"


def api_ready(stack: Stack) -> None:
    """Wait until the API answers its readiness endpoint through the entry point."""
    with stack.api() as api:
        try:
            poll("the API ready before the next experiment", lambda: api.get("/health/detailed"),
                 lambda r: r.status_code == 200, timeout=SETTLE_TIMEOUT_SECONDS, interval=2,
                 summary=lambda r: f"{r.status_code} {r.text[:200]}")
        except WaitTimeout as err:
            raise HarnessError(str(err), "see the previous experiment's events in the report") from None


def play_plan(run: Nightly) -> str:
    """Every plan entry under load, `repeat` times; an entry that crashes is recorded as failed, and
    the next one still runs."""
    stack = Stack(run.target, run.namespace, run.profile, run.entry_url)
    entries = [(attempt, e) for attempt in range(1, run.repeat + 1) for e in run.plan.entries]
    progress = run_mod.Progress(sum(run_mod.expected_seconds(e) for _, e in entries), run.echo)
    try:
        for index, (attempt, entry) in enumerate(entries, 1):
            progress.label = f"resilience {index}/{len(entries)} {entry.name}" + (f" #{attempt}" if run.repeat > 1 else "")
            try:
                api_ready(stack)
                result = run_mod.play(stack, entry, attempt, run.directory, progress)
            except Exception as err:  # noqa: BLE001 (recorded as the entry's failure; the plan goes on)
                result = crashed(entry, attempt, err)
            run.experiments.append(result)
            run.save()
            run.echo(f"[{progress.label}] {'passed' if result['passed'] else 'FAILED'}: score {result['score']}"
                     + (f"; {result['reason']}" if result["reason"] else ""))
    finally:
        stack.close()
    failed = [e["name"] for e in run.experiments if not e["passed"]]
    if failed:
        raise HarnessError(f"{len(failed)} of {len(entries)} experiments failed: {', '.join(failed)}",
                           "see the scorecard in report.html")
    return f"{len(entries)} experiments passed"


def crashed(entry: plan_mod.Entry, attempt: int, err: BaseException) -> dict:
    reason = err.one_line() if isinstance(err, HarnessError) else f"{type(err).__name__}: {err}"
    return {"name": entry.name, "title": entry.name, "service": entry.service, "severity": entry.severity,
            "weight": entry.weight, "attempt": attempt, "passed": False, "reason": f"harness error: {reason}",
            "score": 0.0, "hypothesis": None, "window": None, "phases": [], "gates": [], "time_to_detect": None,
            "time_to_recover": None, "recover_within": entry.recover_within, "alerts": [], "faults": [],
            "data": {}, "series": {}, "events": [], "traceback": traceback.format_exc()}


def teardown(run: Nightly) -> str:
    if run.target is None or run.target.embedded is None:
        return "not the embedded cluster: left as it was"
    if run.keep_cluster:
        return "kept (--keep-cluster)"
    run.target.embedded.down()
    return "embedded cluster down"


def report(run: Nightly) -> str:
    summary_path = run.save()
    summary = json.loads(summary_path.read_text())
    junit = junit_out.write_gates_junit(run.directory / "junit-nightly.xml", summary)
    html = write_nightly_report(run.directory, summary, trends.history(run.directory.parent, run.run_id))
    return f"{html.name}, {summary_path.name}, {junit.name}"


@dataclass(frozen=True)
class StepSpec:
    name: str
    action: Callable[[Nightly], str]
    needs: tuple[str, ...] = ()
    always: bool = False  # runs after a failure or an interrupt too


STEPS = (
    StepSpec("cluster", bring_up),
    StepSpec("deploy", install, needs=("cluster",)),
    StepSpec("suites", verify, needs=("deploy",)),
    StepSpec("resilience", play_plan, needs=("deploy",)),
    StepSpec("teardown", teardown, needs=("cluster",), always=True),
    StepSpec("report", report, always=True),
)


def execute(run: Nightly, steps: tuple[StepSpec, ...] = STEPS) -> int:
    """Run the steps in order; 0 only when every step passed and every gate held."""
    interrupted = False
    planned = {s.name for s in steps}
    for spec in steps:
        step = Step(spec.name)
        run.steps.append(step)
        passed = {s.name for s in run.steps if s.outcome == "passed"}
        missing = [n for n in spec.needs if n in planned and n not in passed]  # a step left out is not a need
        if (interrupted and not spec.always) or missing:
            step.detail = "interrupted before it" if interrupted else f"needs {', '.join(missing)}"
            run.echo(f"[{spec.name}] not run: {step.detail}")
            continue
        run.echo(f"[{spec.name}] ...")
        t0 = time.monotonic()
        try:
            step.detail = spec.action(run) or ""
            step.outcome = "passed"
        except KeyboardInterrupt:
            step.outcome, step.detail, interrupted = "interrupted", "interrupted (Ctrl-C)", True
        except HarnessError as err:
            step.outcome, step.detail = "failed", err.one_line()
        except Exception as err:  # noqa: BLE001 (recorded, with its traceback beside the report)
            step.outcome, step.detail = "failed", f"{type(err).__name__}: {err}"
            run.directory.mkdir(parents=True, exist_ok=True)
            (run.directory / f"{spec.name}.traceback.txt").write_text(traceback.format_exc())
        step.seconds = round(time.monotonic() - t0, 1)
        run.echo(f"[{spec.name}] {step.outcome} in {step.seconds:.0f}s: {step.detail.splitlines()[0] if step.detail else ''}")
        if spec.name != "report":
            run.save()
    run.echo(f"report: {run.directory / 'report.html'}")
    if interrupted:
        return 130
    return 0 if run.passed else 1


# Against a stack that is already deployed (`ms5harness resilience`): the plan and its report only.
PLAN_ONLY = tuple(s for s in STEPS if s.name in ("cluster", "resilience", "report"))


def nightly(kubeconfig: str | None, profile: str, namespace: str, keep_cluster: bool = False,
            plan_path: str | None = None, only: list[str] | None = None, repeat: int = 1, echo=print,
            steps: tuple[StepSpec, ...] = STEPS, kind: str = "nightly", suites: list[str] | None = None,
            entry_url: str | None = None) -> int:
    """Validate the plan, then run the steps; the run's files land in reports/<kind>-<time>/."""
    if repeat < 1:
        raise HarnessError(f"--repeat {repeat}: must be 1 or more", "e.g. --repeat 3")
    for selected in suites or []:
        if not selected.startswith("suites/") or not (paths.REPO_ROOT / selected.split("::")[0]).exists():
            raise HarnessError(f"--suites {selected}: not a file or directory under suites/",
                               "e.g. --suites suites/test_discovery.py")
    plan = plan_mod.load(Path(plan_path) if plan_path else None, objectives_mod.load(profile), only,
                         run_mod.sli_window(profile))
    run_id = os.environ.get("MS5H_RUN_ID") or time.strftime(f"{kind}-%Y%m%dT%H%M%SZ", time.gmtime())
    run = Nightly(run_id, paths.reports_dir() / run_id, kubeconfig, profile, namespace, plan, repeat, only or [],
                  echo, keep_cluster, tuple(suites or ("suites",)), entry_url)
    echo(f"{kind} {run_id}: {len(plan.entries)} experiments x {repeat} from {plan.path}")
    return execute(run, steps)
