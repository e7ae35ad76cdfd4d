"""The nightly pipeline: cluster -> deploy -> verification suites -> report -> teardown.

Each step is timed and recorded in reports/<run id>/summary.json; the HTML report
joins the step table with every JUnit result. The embedded cluster is always
taken down at the end (unless kept), also when a step fails or the run is
interrupted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ms5harness import paths
from ms5harness.errors import HarnessError
from ms5harness.reports import html as html_report


@dataclass
class Step:
    name: str
    outcome: str = "not run"  # passed | failed | not run
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Run:
    run_id: str
    directory: Path
    steps: list[Step] = field(default_factory=list)

    def step(self, name: str, action: Callable[[], str]) -> bool:
        step = Step(name)
        self.steps.append(step)
        t0 = time.monotonic()
        try:
            step.detail = action() or ""
            step.outcome = "passed"
        except HarnessError as err:
            step.outcome, step.detail = "failed", err.one_line()
        finally:
            step.seconds = time.monotonic() - t0
            print(f"[{name}] {step.outcome} in {step.seconds:.0f}s {step.detail.splitlines()[0] if step.detail else ''}",
                  flush=True)
            self.save()
        return step.outcome == "passed"

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "summary.json").write_text(json.dumps(
            {"run_id": self.run_id, "steps": [asdict(s) for s in self.steps]}, indent=2))

    def steps_html(self) -> str:
        rows = "".join(f"<tr><td>{s.name}</td><td>{s.outcome}</td><td>{s.seconds:.0f}s</td><td><pre>{s.detail}</pre></td></tr>"
                       for s in self.steps)
        return f"<table><tr><th>step</th><th>outcome</th><th>time</th><th>detail</th></tr>{rows}</table>"


def run_pytest(run: Run, name: str, args: list[str], kubeconfig: Path | None) -> str:
    """pytest in a child process; with no kubeconfig it finds the (running) embedded cluster itself."""
    junit = run.directory / f"junit-{name}.xml"
    env = {**os.environ, "MS5H_RUN_DIR": str(run.directory)}
    if kubeconfig is not None:
        env["MS5H_KUBECONFIG"] = str(kubeconfig)
    proc = subprocess.run([sys.executable, "-m", "pytest", f"--junitxml={junit}", *args],
                          cwd=paths.REPO_ROOT, env=env)
    if proc.returncode == 5:
        raise HarnessError(f"pytest {name} collected no tests", "check the paths given to the pipeline")
    if proc.returncode != 0:
        raise HarnessError(f"pytest {name} failed (exit {proc.returncode})", f"see {junit} and report.html")
    return f"junit: {junit.name}"


def nightly(kubeconfig: str | None, profile: str, namespace: str, keep_cluster: bool) -> int:
    from ms5harness import deploy
    from ms5harness.kube import target as target_mod

    run_id = os.environ.get("MS5H_RUN_ID") or time.strftime("nightly-%Y%m%dT%H%M%SZ", time.gmtime())
    run = Run(run_id, paths.reports_dir() / run_id)
    holder: dict = {}

    def bring_up() -> str:
        holder["target"] = target_mod.resolve(kubeconfig)
        return f"kubeconfig: {holder['target'].kubeconfig}"

    def install() -> str:
        result = deploy.deploy(holder["target"], profile, namespace)
        return "\n".join(f"{r['workload']} {r['ready']} ready after {r['ready after']}" for r in result.table())

    try:
        if run.step("cluster", bring_up) and run.step("deploy", install):
            user_kubeconfig = None if holder["target"].embedded is not None else holder["target"].kubeconfig
            run.step("static", lambda: run_pytest(run, "static", ["tests/static", "-q"], user_kubeconfig))
            stack_args = [f"--profile={profile}", f"--namespace={namespace}"]
            run.step("suites", lambda: run_pytest(run, "suites", ["suites", "-q", "-n", "auto", *stack_args],
                                                  user_kubeconfig))
            fault_tests = ["tests/breakage", "tests/chaos", "tests/load"]
            run.step("faults", lambda: run_pytest(run, "faults", [*fault_tests, "-q", "-s", *stack_args],
                                                  user_kubeconfig))
    finally:
        target = holder.get("target")
        if target is not None and target.embedded is not None and not keep_cluster:
            run.step("teardown", lambda: target.embedded.down() or "cluster down")
        report = html_report.write_report(run.directory, f"MS5 nightly {run_id}", {"Pipeline": run.steps_html()})
        print(f"report: {report}")
    return 0 if all(s.outcome == "passed" for s in run.steps) else 1
