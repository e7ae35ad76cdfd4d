"""Placement: the replicas of every replicated component run on different nodes, so that one lost or
drained node never takes all of them; on a cluster with one node they may take for them there is nothing
to spread over, and the check says so."""

import pytest

from ms5harness import names
from ms5harness.kube import objects
from ms5harness.kube.waits import takes_pods


def tolerated(taint, tolerations) -> bool:
    return any((t.operator == "Exists" and t.key in (None, taint.key)) or (t.key == taint.key and t.value == taint.value)
               for t in tolerations or [] if t.effect in (None, taint.effect))


def eligible_nodes(nodes, pod_spec) -> set[str]:
    """The Ready, schedulable nodes the pod template may run on: its node selector, the taints it tolerates."""
    return {n.metadata.name for n in nodes
            if takes_pods(n)
            and (pod_spec.node_selector or {}).items() <= (n.metadata.labels or {}).items()
            and all(tolerated(t, pod_spec.tolerations) for t in n.spec.taints or [] if t.effect in ("NoSchedule", "NoExecute"))}


def test_replicas_of_every_replicated_component_run_on_different_nodes(stack):
    nodes = stack.kube.core.list_node().items
    selector = names.release_selector()
    controllers = [*stack.kube.apps.list_namespaced_deployment(stack.namespace, label_selector=selector).items,
                   *stack.kube.apps.list_namespaced_stateful_set(stack.namespace, label_selector=selector).items]
    replicated = [c for c in controllers if (c.spec.replicas or 0) >= 2]
    assert replicated, "the release has no replicated component: nothing survives a node"
    judged, crowded = [], []
    for controller in replicated:
        where = eligible_nodes(nodes, controller.spec.template.spec)
        if len(where) < 2:
            continue
        running = [p for p in stack.kube.core.list_namespaced_pod(
                       stack.namespace, label_selector=objects.selector_text(controller.spec.selector)).items
                   if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]
        spread = {p.spec.node_name for p in running}
        judged.append(controller.metadata.name)
        if len(spread) < min(len(running), len(where)):
            crowded.append(f"{controller.metadata.name}: {len(running)} replicas on {sorted(spread)} of {sorted(where)}")
    if not judged:
        pytest.skip(f"no replicated component may run on two nodes here ({len(nodes)} node(s)): nothing to spread over; "
                    "on the embedded cluster bring it up with `ms5harness cluster up --nodes 2`")
    assert not crowded, f"replicas share a node that could take them all: {'; '.join(crowded)}"
