"""The deployed stack every suite talks to; evidence is collected for every failure.

The stack is deployed once (the chosen profile, onto the cluster the kubeconfig
names or the embedded one) before any suite runs; under pytest-xdist the first
worker deploys and the others read its outcome. With --no-deploy the stack is
verified exactly as it stands (a deploy would repair the very faults that
tests/breakage injects, and on a shared cluster the release is not ours to change).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import pytest

from ms5harness import names, paths
from ms5harness.errors import HarnessError
from ms5harness.verify.stack import Stack

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="session")
def stack(request, target, tmp_path_factory, testrun_uid) -> Iterator[Stack]:
    namespace, profile = request.config.getoption("--namespace"), request.config.getoption("--profile")
    if request.config.getoption("--no-deploy"):
        from ms5harness import deploy

        if deploy.release_manifest(target, namespace) is None:
            pytest.fail(f"--no-deploy, but release {names.RELEASE} is not installed in namespace {namespace} "
                        "(fix: run `ms5harness deploy` or drop --no-deploy)", pytrace=False)
    else:
        failure = deploy_once(target, profile, namespace, tmp_path_factory.getbasetemp().parent / f"ms5h-{testrun_uid}")
        if failure:
            pytest.fail(f"the stack did not deploy: {failure}", pytrace=False)
    stack = Stack(target, namespace, profile, request.config.getoption("--entry-url"))
    yield stack
    stack.close()


def deploy_once(target, profile: str, namespace: str, outcome: Path) -> str:
    """Deploy once per test run and return the failure ("" when deployed). The first xdist worker
    to take the machine lock deploys and leaves its outcome for the others, so a broken deploy
    costs one timeout, not one per worker."""
    from ms5harness import deploy
    from ms5harness.target import machine_lock

    with machine_lock():
        if not outcome.exists():
            try:
                deploy.deploy(target, profile, namespace, echo=lambda _m: None)
                outcome.write_text("")
            except HarnessError as err:
                outcome.write_text(err.one_line())
        return outcome.read_text()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and stack is not None and report.when == "call":
        from ms5harness.reports.evidence import collect, prometheus_window

        run_dir = Path(os.environ.get("MS5H_RUN_DIR") or paths.reports_dir() / "latest")
        out = run_dir / "evidence" / re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)[:120]
        try:
            collect(stack.kube, stack.namespace, out)
            report.sections.append(("evidence", f"pod logs, events and describe output: {out}"))
            prometheus_window(stack.url("prometheus"), out)
            report.sections.append(("evidence", f"service levels of the last 15 minutes: {out}/prometheus.json"))
        except Exception as err:  # evidence is best effort; the failure itself stands
            report.sections.append(("evidence", f"could not collect evidence: {err}"))
