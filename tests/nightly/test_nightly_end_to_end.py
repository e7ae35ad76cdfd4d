"""`ms5harness nightly` end to end, as typed, with a short plan of one experiment (a Postgres failover:
faults, data figures, gates): it judges it under load and leaves a scorecard, a plot per experiment,
summary.json and a JUnit file per gate. Every other experiment runs as typed in tests/chaos.
The full plan (experiments/nightly.yaml) is the main job, not part of the test command.

This proves the harness judges, not that the stack passes: whether a failover's gates hold is the
nightly's verdict (a Postgres failover has cost 2 to 9 s of outage on this machine), so the test
requires every pipeline step to pass, every experiment to have been judged on both sides, and the
exit status to match the verdict, whatever the verdict is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ms5harness import paths

pytestmark = [pytest.mark.cluster, pytest.mark.faults]
RECORDED_SUMMARY = paths.REPO_ROOT / "tests" / "unit" / "data" / "nightly-summary.json"
EXPERIMENTS = paths.REPO_ROOT / "experiments"
SHORT_PLAN = f"""
    version: 1
    defaults:
      load: {{users: 8, baseline: 20s, recovery: 45s}}
      hold: 20s
    experiments:
      - name: db-failover
        file: {EXPERIMENTS}/db-failover.json
        service: postgres
        load: {{fault: 25s}}
        # a 2-3 s failover is a larger share of a 25 s fault window than of the nightly's 60 s
        gates: {{fault: {{availability: 0.9, error_ratio: 0.1, p95: 1s}}}}
        recover_within: 45s
"""


def test_a_short_nightly_scores_its_experiment_and_reports_it(settle, request, tmp_path):
    settle()
    reports = Path(os.environ.get("MS5H_RUN_DIR") or tmp_path) / "nightly-reports"
    earlier = reports / "nightly-20261130T020000Z"  # last night's run, so the report has a trend
    earlier.mkdir(parents=True, exist_ok=True)
    shutil.copy(RECORDED_SUMMARY, earlier / "summary.json")
    plan = tmp_path / "short-plan.yaml"
    plan.write_text(textwrap.dedent(SHORT_PLAN))
    run_id = "nightly-20261201T020000Z"
    env = {**os.environ, "MS5H_REPORTS": str(reports), "MS5H_RUN_ID": run_id}
    # One suite file: the whole of suites/ ran against this stack just before, in the test command.
    cmd = [str(Path(sys.executable).parent / "ms5harness"), "nightly", "--keep-cluster", "--plan", str(plan),
           "--suites", "suites/test_discovery.py", "--namespace", request.config.getoption("--namespace"), "--profile", request.config.getoption("--profile")]
    if request.config.getoption("--kubeconfig"):
        cmd += ["--kubeconfig", request.config.getoption("--kubeconfig")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    print(proc.stdout[-6000:])
    run_dir = reports / run_id
    summary = json.loads((run_dir / "summary.json").read_text())

    steps = {s["name"]: s for s in summary["steps"]}
    assert list(steps) == ["cluster", "deploy", "suites", "resilience", "teardown"]
    assert all(steps[name]["outcome"] == "passed" for name in ("cluster", "deploy", "suites", "teardown")), steps
    assert steps["resilience"]["outcome"] in ("passed", "failed"), steps["resilience"]
    suites = ET.parse(run_dir / "junit-suites.xml").getroot().iter("testcase")
    assert {c.get("classname").split(".")[-1] for c in suites} == {"test_discovery"}
    assert [e["name"] for e in summary["experiments"]] == ["db-failover"]
    for experiment in summary["experiments"]:
        print(f"{experiment['name']}: score {experiment['score']}, passed {experiment['passed']}: {experiment['reason']}")
        assert experiment["hypothesis"]["steady_state_before"] and experiment["hypothesis"]["method"], \
            experiment["reason"]
        assert {p["name"] for p in experiment["phases"]} == {"baseline", "fault", "recovery"}
        for phase in experiment["phases"]:
            assert phase["clients"]["requests"] > 0 and phase["server"]["requests"], phase
        assert experiment["series"]["clients"]["t"] and experiment["series"]["server"]["t"]
        assert experiment["gates"] and 0 <= experiment["score"] <= 100
    failover = summary["experiments"][0]
    assert failover["data"]["writes_acknowledged"] and failover["data"]["writes_lost"] is not None

    html = (run_dir / "report.html").read_text()
    assert "Scorecard" in html and html.count("data:image/png;base64,") >= 1 + 1  # a plot per experiment, a trend
    cases = list(ET.parse(run_dir / "junit-nightly.xml").getroot().iter("testcase"))
    assert len(cases) >= sum(len(e["gates"]) for e in summary["experiments"])
    assert proc.returncode == (0 if summary["passed"] else 1), proc.stderr[-2000:]
    assert summary["passed"] == all(e["passed"] for e in summary["experiments"])
