"""`deploy --profile local` brings the whole MS5 stack to Ready; a repeat is a no-op; a broken
rollout is named with its reason. Leaves the stack deployed for the suites and static checks."""

import pytest

from ms5harness import deploy
from ms5harness.errors import HarnessError

pytestmark = pytest.mark.cluster
NAMESPACE = "ms5"


@pytest.fixture(scope="module")
def first_deploy(target, request):
    profile = request.config.getoption("--profile")
    result = deploy.deploy(target, profile, NAMESPACE, echo=lambda _m: None)
    print(f"\ndeploy to all-Ready: {result.seconds:.0f}s")
    for row in result.table():
        print(f"  {row['workload']:<32} {row['ready']:>5} after {row['ready after']}")
    return result


def test_every_workload_becomes_ready(first_deploy):
    kinds = {w.kind for w in first_deploy.workloads}
    assert {"Deployment", "StatefulSet", "Job"} <= kinds
    assert all(w.ready >= w.desired > 0 for w in first_deploy.workloads), first_deploy.table()


def test_a_second_deploy_changes_nothing(target, first_deploy, request):
    again = deploy.deploy(target, request.config.getoption("--profile"), NAMESPACE, echo=lambda _m: None)
    assert again.changed is False


def test_a_failed_rollout_names_the_workload_and_reason(target, first_deploy, request):
    profile = request.config.getoption("--profile")
    try:
        with pytest.raises(HarnessError, match=r"deployment/ms5-nginx .*(ErrImageNeverPull|ErrImagePull|ImagePullBackOff)"):
            deploy.deploy(target, profile, NAMESPACE, {"images.nginx.tag": "missing-tag"}, timeout=180,
                          echo=lambda _m: None)
    finally:
        restored = deploy.deploy(target, profile, NAMESPACE, echo=lambda _m: None)
        assert restored.changed
