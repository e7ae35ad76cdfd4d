"""Each verification suite turns red when the stack is broken the way that suite guards against.

A fault from ms5harness.chaos is injected into the deployed stack, the suite's tests run as a
user runs them (`pytest suites/... --no-deploy`, a separate process), and the run must fail
for the expected reason. After the rollback the same tests must pass again: the fault, not
something else, made them fail, and the rollback put the stack back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from ms5harness import paths
from ms5harness.chaos.deployments.actions import scale_deployment
from ms5harness.chaos.namespaces.actions import set_pod_security
from ms5harness.chaos.networkpolicies.actions import allow_all, partition
from ms5harness.chaos.rbac.actions import grant
from ms5harness.chaos.services.actions import change_selector

pytestmark = [pytest.mark.cluster, pytest.mark.faults]


@dataclass
class Breakage:
    suite: str
    fault: str
    inject: Callable[[dict], object]
    tests: list[str]
    reason: str  # a pattern the failure report must match

    def __str__(self) -> str:
        return self.suite


CASES = [
    Breakage("discovery", "a Service selector that matches no pod",
             lambda cfg: change_selector("flower", {"app.kubernetes.io/component": "no-such-pod"}, configuration=cfg),
             ["test_discovery.py::test_every_service_has_ready_endpoints"], r"ms5-flower has no ready endpoint"),
    Breakage("data paths", "backend cut off from Redis (its allow rule removed)",
             lambda cfg: partition("backend", "redis", configuration=cfg),
             ["test_data_paths.py::test_redis_set_get_and_pubsub"], r"(?s)probe failed: .*connecting to ms5-(redis|fault-proxy):6379"),
    Breakage("background", "the Celery worker stopped",
             lambda cfg: scale_deployment("celery-worker", 0, configuration=cfg),
             ["test_background.py::test_report_is_generated_by_a_worker_into_the_reports_bucket"],
             r"report completed: not reached"),
    Breakage("entry point", "nginx cut off from the backend",
             lambda cfg: partition("nginx", "backend", configuration=cfg),
             ["test_entry_point.py::test_health_and_api_are_routed"],
             r"ReadTimeout|assert 50[24] == 200"),  # nginx retries the upstream for 3 x 5 s; the client gives up at 10 s
    Breakage("monitoring", "AlertManager cut off from its webhook receiver",
             lambda cfg: partition("alertmanager", "alert-webhook", configuration=cfg),
             ["test_monitoring.py::test_a_test_alert_reaches_alertmanager_and_its_webhook"],
             r"alert delivered to the webhook: not reached"),
    Breakage("isolation (removed allow rule)", "the allow rule nginx -> backend removed",
             lambda cfg: partition("nginx", "backend", configuration=cfg),
             ["test_isolation.py::test_flow_matrix[nginx-backend-8000]"], r"nginx -> backend:8000 was refused"),
    Breakage("isolation (allow-all policy)", "an allow-all NetworkPolicy added",
             lambda cfg: allow_all(configuration=cfg),
             ["test_isolation.py::test_flow_matrix[nginx-postgres-5432]"], r"nginx -> postgres:5432 connected"),
    Breakage("access control", "the backend's ServiceAccount granted read on Secrets",
             lambda cfg: grant("backend", ["get", "list"], ["secrets"], configuration=cfg),
             ["test_access_control.py::test_secrets_are_readable_by_no_workload"], r"ms5-backend may read secrets"),
    Breakage("pod security", "the namespace relaxed to the privileged Pod Security level",
             lambda cfg: set_pod_security("privileged", configuration=cfg),
             ["test_pod_security.py::test_namespace_rejects_a_privileged_pod"], r"DID NOT RAISE"),
]


@pytest.fixture(scope="module")
def namespace(request) -> str:
    return request.config.getoption("--namespace")


def run_suite_tests(request, namespace: str, tests: list[str], junit: Path) -> tuple[int, str]:
    """Run suite tests as a user would; returns the exit code and every failure's text."""
    args = [sys.executable, "-m", "pytest", *[f"suites/{t}" for t in tests], "--no-deploy", "-q",
            "-p", "no:cacheprovider", f"--junitxml={junit}", f"--namespace={namespace}",
            f"--profile={request.config.getoption('--profile')}"]
    if request.config.getoption("--kubeconfig"):
        args.append(f"--kubeconfig={request.config.getoption('--kubeconfig')}")
    env = {**os.environ, "MS5H_RUN_DIR": str(junit.parent)}  # evidence of expected failures stays out of the run
    proc = subprocess.run(args, cwd=paths.REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    failures = [f"{el.get('message', '')}\n{el.text or ''}" for el in ET.parse(junit).iter()
                if el.tag in ("failure", "error")] if junit.exists() else []
    return proc.returncode, "\n".join(failures) or proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_suite_turns_red_on_breakage_and_green_after_rollback(case, target, namespace, settle, request, tmp_path):
    settle()
    configuration = {"kubeconfig": str(target.kubeconfig), "namespace": namespace}
    try:
        case.inject(configuration)
        code, failures = run_suite_tests(request, namespace, case.tests, tmp_path / "broken.xml")
    finally:
        settle()
    assert code == 1, f"with {case.fault}, the {case.suite} suite exited {code}, not 1 (tests failed):\n{failures}"
    assert re.search(case.reason, failures), f"the {case.suite} suite failed, but not because of {case.fault}:\n{failures}"
    bundles = sorted((tmp_path / "evidence").iterdir())
    assert bundles, "a failing suite left no evidence bundle"
    for bundle in bundles:
        assert {"events.txt", "describe.txt", "logs", "prometheus.json"} <= {p.name for p in bundle.iterdir()}, bundle
    assert any(json.loads((b / "prometheus.json").read_text())["availability"]["series"] for b in bundles), \
        "no evidence bundle holds the availability SLI of the minutes before the failure"
    code, failures = run_suite_tests(request, namespace, case.tests, tmp_path / "restored.xml")
    assert code == 0, f"after rolling back {case.fault}, the {case.suite} suite still fails:\n{failures}"
