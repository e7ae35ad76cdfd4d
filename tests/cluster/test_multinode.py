"""Several real nodes on one machine: every node Ready, pods on different nodes reach each other and the
Services, DNS answers on every node, and NetworkPolicy holds between nodes.

On the embedded cluster the module grows it to three nodes (control plane, compute, spot) and gives it
back its earlier shape afterwards, so the rest of the run keeps the cluster it had; the workers it
removes must leave nothing behind.
"""

import pytest

from ms5harness.kube import objects, waits

pytestmark = pytest.mark.cluster

NODES = 3


@pytest.fixture(scope="module")
def nodes(target, kube):
    """Names of the cluster's nodes (three on the embedded cluster)."""
    if target.embedded is None:
        names = [n.metadata.name for n in kube.core.list_node().items]
        if len(names) < 2:
            pytest.skip("needs two or more nodes; the given cluster has one")
        yield names
        return
    from ms5harness.cluster.embedded import EmbeddedCluster

    grown = EmbeddedCluster(target.embedded.spec, echo=lambda _msg: None, nodes=NODES)
    grown.up()
    try:
        yield grown.node_names
    finally:
        shrink(target)


def shrink(target) -> None:
    """Back to one node, the shape every other test of the run expects."""
    from ms5harness.cluster.embedded import EmbeddedCluster

    EmbeddedCluster(target.embedded.spec, echo=lambda _msg: None, nodes=1).up()


def test_every_node_is_ready_with_its_pool(target, kube, nodes):
    by_name = {n.metadata.name: n for n in kube.core.list_node().items}
    for name in nodes:
        ready = {c.type: c.status for c in by_name[name].status.conditions}["Ready"]
        assert ready == "True", f"node {name} is not Ready"
    if target.embedded is not None:
        pools = {name: by_name[name].metadata.labels.get("agentpool") for name in nodes}
        assert pools == {nodes[0]: "system", nodes[1]: "compute", nodes[2]: "spot"}, pools
        taints = [(t.key, t.value, t.effect) for t in by_name[nodes[2]].spec.taints or []]
        assert ("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule") in taints, taints
        cidrs = {by_name[name].spec.pod_cidr for name in nodes}
        assert len(cidrs) == len(nodes), f"nodes share a pod range: {cidrs}"


def test_pods_on_different_nodes_reach_each_other_and_services(scratch, nodes):
    server = scratch.serve_http("server", node=nodes[1])
    scratch.create(objects.service("server", {"app": "server"}, 80, 8080))
    service_ip = scratch.kube.core.read_namespaced_service("server", scratch.name).spec.cluster_ip
    for index, node in enumerate((nodes[0], nodes[2])):
        client = f"client-{index}"
        scratch.sleeper(client, node=node)
        assert scratch.can_connect(client, server.status.pod_ip, 8080), \
            f"a pod on {node} cannot reach the server's pod on {nodes[1]} ({server.status.pod_ip})"
        assert scratch.can_connect(client, service_ip, 80), f"a pod on {node} cannot reach the Service {service_ip}"


def test_dns_answers_on_every_node(scratch, nodes):
    for index, node in enumerate(nodes):
        scratch.sleeper(f"resolver-{index}", node=node)
        result = scratch.exec(f"resolver-{index}", ["getent", "hosts", "kubernetes.default.svc.cluster.local"])
        assert result.exit_code == 0 and result.stdout.startswith("10.96.0.1"), \
            f"no answer on {node}: {result.stdout!r} {result.stderr!r}"


def test_network_policy_holds_between_nodes(scratch, nodes):
    server = scratch.serve_http("server", node=nodes[1])
    scratch.sleeper("client", labels={"app": "client"}, node=nodes[2])
    scratch.sleeper("stranger", labels={"app": "stranger"}, node=nodes[0])
    ip = server.status.pod_ip
    assert scratch.can_connect("client", ip, 8080), "without any policy the client must reach the server"
    scratch.create(objects.network_policy("allow-client", {"app": "server"}, ingress=[{
        "from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": 8080}]}]))
    waits.poll("the stranger on another node is shut out", lambda: scratch.can_connect("stranger", ip, 8080, timeout=2),
               lambda ok: not ok, timeout=60, interval=2)
    assert scratch.can_connect("client", ip, 8080), "the allowed client on the spot node lost the server"


def test_removed_workers_leave_nothing_behind(target, kube, nodes):
    if target.embedded is None:
        pytest.skip("removes the embedded cluster's own worker nodes")
    from ms5harness.cluster import workers

    shrink(target)
    assert [n.metadata.name for n in kube.core.list_node().items] == [nodes[0]]
    assert workers.leftovers(target.embedded.spec) == []
