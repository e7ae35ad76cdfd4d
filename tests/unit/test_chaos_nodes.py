"""Node faults, the pure parts: what a drain evicts, which pod a rebalance may move, which cluster
chaostoolkit-kubernetes talks to, and that only the embedded cluster's workers can be hung."""

import os
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from kubernetes import client
from kubernetes.config import kube_config

from ms5harness.chaos import session
from ms5harness.chaos.nodes import actions, machines
from ms5harness.chaos.nodes.probes import is_primary


def pod(name: str, owner: str | None = "ReplicaSet", labels: dict | None = None, annotations: dict | None = None,
        phase: str = "Running", deleting: bool = False) -> client.V1Pod:
    owners = [client.V1OwnerReference(api_version="apps/v1", kind=owner, name="x", uid="u", controller=True)] if owner else []
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, namespace="ms5", labels=labels, annotations=annotations,
                                                     owner_references=owners, deletion_timestamp=datetime.now(timezone.utc) if deleting else None),
                        status=client.V1PodStatus(phase=phase))


class Pods:
    """A CoreV1Api answering one pod list."""

    def __init__(self, pods):
        self.pods = pods

    def list_pod_for_all_namespaces(self, field_selector: str):
        return SimpleNamespace(items=self.pods)


def test_a_drain_evicts_what_kubectl_drain_evicts():
    kube = SimpleNamespace(core=Pods([
        pod("api"), pod("sts", owner="StatefulSet"), pod("agent", owner="DaemonSet"),
        pod("static", owner="Node", annotations={"kubernetes.io/config.mirror": "x"}),
        pod("done", phase="Succeeded"), pod("going", deleting=True)]))
    assert [p.metadata.name for p in actions.evictable(kube, "n")] == ["api", "sts"]


def test_a_drain_refuses_a_pod_nothing_would_recreate():
    kube = SimpleNamespace(core=Pods([pod("api"), pod("bare", owner=None)]))
    with pytest.raises(session.ActivityFailed, match="ms5/bare on node/n has no controller"):
        actions.evictable(kube, "n")


def test_a_spot_eviction_leaves_a_pod_nothing_would_recreate_to_go_down_with_the_node():
    kube = SimpleNamespace(core=Pods([pod("api"), pod("bare", owner=None)]))
    assert [p.metadata.name for p in actions.evictable(kube, "n", lose_unmanaged=True)] == ["api"]


class Evictions:
    """A CoreV1Api whose PodDisruptionBudget refuses the pods named in `refuse`, `times` times each."""

    def __init__(self, refuse: set[str], times: int):
        self.left = dict.fromkeys(refuse, times)
        self.evicted: list[str] = []

    def create_namespaced_pod_eviction(self, name, namespace, body):
        if self.left.get(name, 0) > 0:
            self.left[name] -= 1
            raise client.ApiException(status=429, reason="Too Many Requests")
        self.evicted.append(name)


def test_an_eviction_refused_by_a_budget_is_asked_again_until_the_deadline(monkeypatch):
    monkeypatch.setattr(actions, "EVICTION_RETRY_SECONDS", 0.01)
    core = Evictions({"pg-1"}, times=3)
    refused, refusals = actions.evict(SimpleNamespace(core=core), [pod("api"), pod("pg-1")], time.monotonic() + 5)
    assert (refused, refusals, core.evicted) == ([], 3, ["api", "pg-1"])
    core = Evictions({"pg-1"}, times=10**6)
    refused, refusals = actions.evict(SimpleNamespace(core=core), [pod("api"), pod("pg-1")], time.monotonic() + 0.2)
    assert [p.metadata.name for p in refused] == ["pg-1"] and refusals >= 2 and core.evicted == ["api"]


def test_a_rebalance_never_moves_a_primary():
    assert is_primary(pod("pg-0", labels={"role": "master"}))
    assert is_primary(pod("redis-1", labels={"ms5.io/redis-role": "master"}))
    assert not is_primary(pod("pg-1", labels={"role": "replica"}))
    assert not is_primary(pod("api", labels={"app": "master"}))


def test_chaosk8s_talks_to_the_experiments_cluster_verified_and_the_environment_comes_back(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", "/elsewhere")
    monkeypatch.setenv("KUBERNETES_CONTEXT", "prod")
    monkeypatch.delenv("KUBERNETES_VERIFY_SSL", raising=False)
    default = kube_config.KUBE_CONFIG_DEFAULT_LOCATION  # fixed when the client was imported
    with actions.chaosk8s_on(SimpleNamespace(kubeconfig=Path("/ours"))):
        assert os.environ["KUBECONFIG"] == "/ours" and os.environ["KUBERNETES_VERIFY_SSL"] == "true"
        assert kube_config.KUBE_CONFIG_DEFAULT_LOCATION == "/ours" and "KUBERNETES_CONTEXT" not in os.environ
    assert os.environ["KUBECONFIG"] == "/elsewhere" and os.environ["KUBERNETES_CONTEXT"] == "prod"
    assert kube_config.KUBE_CONFIG_DEFAULT_LOCATION == default
    assert "KUBERNETES_VERIFY_SSL" not in os.environ


def test_only_the_embedded_clusters_workers_can_be_hung(tmp_path):
    other = SimpleNamespace(kubeconfig=tmp_path / "aks.kubeconfig")
    assert machines.embedded_workers(other) == {}
    with pytest.raises(session.ActivityFailed, match="not a worker of this machine's embedded cluster"):
        machines.embedded_worker(other, "aks-compute-12345-vmss000000")
