"""Session-wide options and fixtures: which cluster to test, and a client for it."""

from __future__ import annotations

import pytest

from ms5harness.errors import HarnessError
from ms5harness.names import DEFAULT_NAMESPACE


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ms5harness")
    group.addoption("--kubeconfig", default=None,
                    help="cluster to test (default: $MS5H_KUBECONFIG, else the embedded cluster, started on demand)")
    group.addoption("--namespace", default=DEFAULT_NAMESPACE,
                    help=f"namespace of the MS5 stack (default: {DEFAULT_NAMESPACE})")
    group.addoption("--profile", default="local", choices=("local", "aks"), help="chart profile to deploy/verify")
    group.addoption("--entry-url", default=None,
                    help="the entry point's public URL where nginx terminates TLS (aks: https://<host>); "
                         "default: its NodePort on the embedded cluster, else its load balancer or a port-forward")
    group.addoption("--no-deploy", action="store_true",
                    help="verify the stack exactly as it is deployed (no deploy, no repair); fail if it is absent")


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest):
    from ms5harness import target as target_mod

    try:
        return target_mod.resolve(request.config.getoption("--kubeconfig"), echo=lambda _msg: None)
    except HarnessError as err:
        pytest.exit(f"error: {err.one_line()}", returncode=4)


@pytest.fixture(scope="session")
def kube(target):
    return target.kube


@pytest.fixture(scope="session")
def kubeconfig(target):
    return target.kubeconfig


@pytest.fixture(scope="session")
def settle(target, request):
    """Put the stack back as the chart defines it: every recorded fault undone, the release deployed
    and every workload ready. Fault tests call it before and after. The first settle deploys (a no-op
    when unchanged, 13-16 s); later ones, while the release's revision is the one that deploy left,
    only wait for its workloads (a second): no fault test changes the release, and the ledger undoes
    what they do to it. Once a settle fails, later ones fail at once with the same reason: a stack
    that did not come back in 15 minutes will not come back for the next test either, and CI has a
    deadline."""
    from ms5harness import deploy
    from ms5harness.chaos import ledger
    from ms5harness.target import machine_lock

    namespace, profile = request.config.getoption("--namespace"), request.config.getoption("--profile")
    failures: list[str] = []
    deployed: dict = {}  # the revision and workloads the last deploy left

    def settle_now() -> None:
        if failures:
            pytest.fail(f"the stack did not settle earlier in this run: {failures[0]}", pytrace=False)
        try:
            ledger.undo_everything(target.kube, namespace)
            if deployed and deploy.release_revision(target, namespace) == deployed["revision"]:
                deploy.wait_ready(target, namespace, deployed["workloads"])
                return
            with machine_lock():
                result = deploy.deploy(target, profile, namespace, echo=lambda _m: None)
            deployed.update(revision=deploy.release_revision(target, namespace), workloads=result.workloads)
        except HarnessError as err:
            failures.append(err.one_line())
            raise
    return settle_now
