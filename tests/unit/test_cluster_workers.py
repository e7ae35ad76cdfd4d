"""A worker node's shape, derived from the cluster's, checked without starting anything."""

from pathlib import Path

import pytest
import yaml

from ms5harness.cluster import configs, network, workers
from ms5harness.cluster.processes import Process
from ms5harness.cluster.components import NODE_COMPONENTS, process
from ms5harness.cluster.spec import ClusterSpec

CLUSTER = ClusterSpec(node_ip="192.0.2.2", egress_interface="eth0", state=Path("/tmp/s"), run=Path("/tmp/r"))


def test_worker_gets_its_own_name_address_namespace_subtree_and_state():
    spec = workers.worker_spec(CLUSTER, 3)
    assert (spec.node_name, spec.node_ip, spec.netns, spec.cgroup_root) == ("ms5-node-3", "10.250.0.3", "ms5-node-3", "/ms5-node-3")
    assert spec.state == Path("/tmp/s/nodes/ms5-node-3") and spec.run == Path("/tmp/r/nodes/ms5-node-3")
    assert spec.server_url == "https://192.0.2.2:6443", "a worker's loopback is its own: it needs the host's address"
    assert spec.local_address == "10.250.0.3" and CLUSTER.local_address == "127.0.0.1"
    assert spec.containerd_socket != CLUSTER.containerd_socket
    with pytest.raises(ValueError):
        workers.worker_spec(CLUSTER, 1)
    with pytest.raises(ValueError):
        workers.worker_spec(CLUSTER, workers.MAX_NODES + 1)


def test_pools_mirror_aks_and_the_spot_pool_is_tainted():
    assert [workers.POOL_OF_INDEX[i] for i in range(1, 5)] == ["system", "compute", "spot", "compute"]
    spot = workers.worker_spec(CLUSTER, 3)
    assert dict(spot.node_labels)["kubernetes.azure.com/scalesetpriority"] == "spot"
    assert spot.node_taints == ("kubernetes.azure.com/scalesetpriority=spot:NoSchedule",)
    assert workers.worker_spec(CLUSTER, 2).node_taints == ()
    for index in range(1, 5):
        labels = dict(workers.pool_labels(index))
        assert labels["agentpool"] == labels["kubernetes.azure.com/agentpool"]
        assert labels["topology.kubernetes.io/zone"] == f"local-{index}"


def test_worker_kubelet_registers_its_pool_and_puts_pods_under_its_subtree():
    spec = workers.worker_spec(CLUSTER, 3)
    args = configs.kubelet_args(spec)
    assert "--register-with-taints=kubernetes.azure.com/scalesetpriority=spot:NoSchedule" in args
    assert any(a.startswith("--node-labels=agentpool=spot,") for a in args)
    cfg = yaml.safe_load(configs.kubelet_config(spec))
    assert cfg["cgroupRoot"] == "/ms5-node-3" and cfg["healthzBindAddress"] == "10.250.0.3"
    assert "cgroupRoot" not in yaml.safe_load(configs.kubelet_config(CLUSTER))
    # one /var/log/pods for two kubelets: each one's garbage collection deletes the other's pod logs
    assert cfg["podLogsDir"] == "/tmp/s/nodes/ms5-node-3/pod-logs"
    assert "podLogsDir" not in yaml.safe_load(configs.kubelet_config(CLUSTER))
    assert not any(a.startswith(("--node-labels", "--register-with-taints")) for a in configs.kubelet_args(CLUSTER))


def test_worker_processes_join_only_the_network_namespace_and_the_subtree():
    spec = workers.worker_spec(CLUSTER, 2)
    for comp in NODE_COMPONENTS:
        proc: Process = process(spec, comp)
        assert proc.argv[:3] == ["nsenter", "--net=/run/netns/ms5-node-2", "--"], "mounts must stay shared with the host"
        assert proc.cgroup == "/ms5-node-2" and proc.pid_dir == spec.pid_dir
    assert process(CLUSTER, NODE_COMPONENTS[0]).cgroup == "/"
    assert [c.name for c in NODE_COMPONENTS] == ["containerd", "kubelet", "kube-proxy", "kube-router"]


def test_egress_guard_also_keeps_worker_addresses_on_the_machine():
    rules = network.guard_rules(CLUSTER)
    assert ["-s", "10.250.0.0/24", "-o", "eth0"] == rules[-1][:4] and "REJECT" in rules[-1]


def test_the_local_profile_admits_the_node_subnet():
    """NodePort traffic from the host reaches a pod on a worker from the host's address on the node subnet,
    and Prometheus scrapes the workers' kubelets there: the local profile's policies must admit it."""
    import yaml

    from ms5harness.paths import REPO_ROOT

    values = yaml.safe_load((REPO_ROOT / "manifests/helm/ms5-dashboard/values-local.yaml").read_text())
    assert CLUSTER.node_subnet in values["networkPolicy"]["externalCidrs"]
    assert CLUSTER.node_subnet in values["networkPolicy"]["kubelet"]["cidrs"]


def test_a_joining_node_imports_every_image_unless_told_which(tmp_path):
    """A node for test pods only joins with the cluster's own images and theirs; an image the cluster
    never imported is named rather than silently left out."""
    import json

    from ms5harness.cluster.embedded import EmbeddedCluster
    from ms5harness.cluster.node_images import PAUSE
    from ms5harness.errors import HarnessError

    spec = ClusterSpec(node_ip="192.0.2.2", egress_interface="eth0", state=tmp_path, run=tmp_path / "run")
    archives = {ref: tmp_path / f"{i}.tar" for i, ref in enumerate([PAUSE.ref, "ms5/toolbox:1", "ms5/backend:2"])}
    for archive in archives.values():
        archive.touch()
    (tmp_path / "images.json").write_text(json.dumps({ref: str(a) for ref, a in archives.items()}))
    assert EmbeddedCluster(spec).images_to_join() == archives
    assert EmbeddedCluster(spec, join_images=["ms5/toolbox:1"]).images_to_join().keys() == {PAUSE.ref, "ms5/toolbox:1"}
    with pytest.raises(HarnessError, match="ms5/locust:3"):
        EmbeddedCluster(spec, join_images=["ms5/locust:3"]).images_to_join()
