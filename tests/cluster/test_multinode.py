"""Several real nodes on one machine: every node Ready, pods on different nodes reach each other and the
Services, DNS answers on every node, and NetworkPolicy holds between nodes.

On the embedded cluster the module grows it to three nodes (control plane, compute, spot) and gives it
back its earlier shape afterwards, so the rest of the run keeps the cluster it had; the workers it
removes must leave nothing behind.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ms5harness import names, paths
from ms5harness.chaos import ledger
from ms5harness.kube import objects, waits

pytestmark = pytest.mark.cluster

NODES = 3


@pytest.fixture(scope="module")
def run_shape(target) -> int:
    """How many nodes the embedded cluster had before this module grew it."""
    from ms5harness.cluster import workers

    return workers.recorded_nodes(target.embedded.spec) if target.embedded else 0


@pytest.fixture(scope="module")
def nodes(target, kube, run_shape, toolbox_image):
    """Names of the cluster's nodes (three on the embedded cluster). The third, a spot node no MS5 pod
    tolerates here, runs only this module's toolbox pods, so it imports only their image."""
    if target.embedded is None:
        found = [n.metadata.name for n in kube.core.list_node().items]
        if len(found) < 2:
            pytest.skip("needs two or more nodes; the given cluster has one")
        yield found
        return
    from ms5harness.cluster.embedded import EmbeddedCluster

    grown = EmbeddedCluster(target.embedded.spec, echo=lambda _msg: None, nodes=NODES, join_images=[toolbox_image])
    grown.up()
    try:
        yield grown.node_names
    finally:
        shrink(target, run_shape)


def shrink(target, nodes: int) -> None:
    """Back to the shape the run had before, which every other test of it expects."""
    from ms5harness.cluster.embedded import EmbeddedCluster

    EmbeddedCluster(target.embedded.spec, echo=lambda _msg: None, nodes=nodes).up()


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


def hang_for_ten_minutes(namespace: str, node: str) -> dict:
    """An experiment that hangs the node, then waits: it is still hanging when the test stops it."""
    experiment = json.loads((paths.REPO_ROOT / "experiments" / "node-loss.json").read_text())
    hang = next(a for a in experiment["method"] if a["name"] == "hang-the-compute-worker-carrying-the-most-ms5-pods")
    hang["provider"]["arguments"] = {"node": node}
    hang["pauses"] = {"after": 600}
    return {**experiment, "configuration": {**experiment["configuration"], "namespace": namespace},
            "steady-state-hypothesis": {"title": "two nodes", "probes": experiment["steady-state-hypothesis"]["probes"][:1]},
            "method": [hang]}


@pytest.mark.parametrize("how", ["interrupted", "killed"])
def test_a_hung_node_is_thawed_however_the_run_ends(how, target, scratch, nodes, tmp_path):
    """node-loss's hang, stopped mid-fault: Ctrl-C rolls it back at once; after SIGKILL the ledger still
    holds the fault and `ms5harness chaos rollback` thaws the node."""
    if target.embedded is None:
        pytest.skip("hangs the embedded cluster's own worker nodes")
    from ms5harness.cluster import workers

    node, kube = nodes[2], scratch.kube
    spec = next(w.spec for w in target.embedded.workers if w.name == node)
    scratch.sleeper("on-the-node", labels={"app": "on-the-node", names.INSTANCE: names.RELEASE}, node=node)
    source = tmp_path / "hang.json"
    source.write_text(json.dumps(hang_for_ten_minutes(scratch.name, node)))
    chaos = Path(sys.executable).parent / "chaos"
    proc = subprocess.Popen([str(chaos), "run", str(source), "--journal-path", str(tmp_path / "journal.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        waits.poll(f"node/{node} hung", lambda: workers.is_frozen(spec), bool, timeout=120, interval=1)
        proc.send_signal(signal.SIGINT if how == "interrupted" else signal.SIGKILL)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    if how == "killed":
        assert workers.is_frozen(spec) and ledger.pending(kube, scratch.name), "a killed run left no hung node behind"
        cli = subprocess.run([str(chaos.parent / "ms5harness"), "chaos", "rollback", "--namespace", scratch.name],
                             capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0 and f"node/{node} running again" in cli.stdout, cli.stderr
    else:
        assert "Rollback" in output or "rolled back" in output, output[-2000:]
    assert not workers.is_frozen(spec) and ledger.pending(kube, scratch.name) == []
    waits.poll(f"node/{node} Ready", lambda: kube.core.read_node(node), waits.node_ready, timeout=60)


def test_removed_workers_leave_nothing_behind(target, kube, nodes, run_shape):
    if target.embedded is None:
        pytest.skip("removes the embedded cluster's own worker nodes")
    from ms5harness.cluster import workers

    kept = min(run_shape, NODES - 1)  # the run's own shape (at least one worker goes)
    shrink(target, kept)
    assert [n.metadata.name for n in kube.core.list_node().items] == nodes[:kept]
    for index in range(kept + 1, NODES + 1):
        assert workers.traces(target.embedded.spec, index) == [], f"removed {nodes[index - 1]} left traces"
