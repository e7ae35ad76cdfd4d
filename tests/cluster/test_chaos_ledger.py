"""The chaos ledger: every recorded fault is undone, newest first, and a failed undo stays recorded."""

import pytest

from ms5harness.chaos import ledger
from ms5harness.chaos.namespaces.actions import ENFORCE, set_pod_security
from ms5harness.errors import HarnessError


def enforced(kube, namespace: str) -> str | None:
    return (kube.core.read_namespace(namespace).metadata.labels or {}).get(ENFORCE)


def test_faults_are_undone_newest_first(kube, scratch):
    cfg = {"kubeconfig": str(kube.kubeconfig), "namespace": scratch.name}
    assert set_pod_security("baseline", configuration=cfg) == "restricted"
    assert set_pod_security("privileged", configuration=cfg) == "baseline"
    assert [e["what"] for _, e in ledger.pending(kube, scratch.name)] == [
        f"namespace/{scratch.name} {ENFORCE} back to restricted", f"namespace/{scratch.name} {ENFORCE} back to baseline"]
    assert len(ledger.rollback(cfg)) == 2
    assert enforced(kube, scratch.name) == "restricted"  # oldest undo ran last
    assert ledger.pending(kube, scratch.name) == []


def test_a_failing_undo_stays_recorded_and_is_named(kube, scratch):
    ledger.record(kube, scratch.name, "deployment/ghost back to 1 replicas",
                  "ms5harness.chaos.deployments.actions.restore_replicas", name="ghost", replicas=1)
    with pytest.raises(HarnessError, match="rollback incomplete.*deployment/ghost back to 1 replicas"):
        ledger.undo_everything(kube, scratch.name)
    assert len(ledger.pending(kube, scratch.name)) == 1


def test_only_functions_of_the_chaos_package_can_be_recorded(kube, scratch):
    with pytest.raises(ValueError, match="not a function of ms5harness.chaos"):
        ledger.record(kube, scratch.name, "anything", "os.system", command="true")
