"""Node probes: which nodes are Ready and schedulable, where MS5's pods run, and how long a hung
node takes to be noticed, to have its pods replaced and to come back."""

from __future__ import annotations

import time
from collections import Counter

from kubernetes import client

from ms5harness import names
from ms5harness.chaos import ledger, session
from ms5harness.chaos.pods.probes import is_ready
from ms5harness.kube.client import Kube
from ms5harness.kube.waits import WaitTimeout, node_ready, poll, takes_pods

__all__ = ["schedulable_nodes", "seconds_until_node_not_ready", "seconds_until_replaced_elsewhere",
           "seconds_until_every_node_ready"]

MIRROR = "kubernetes.io/config.mirror"  # a static pod's annotation: the kubelet owns it, a drain leaves it


def ms5_pods_on(kube: Kube, namespace: str, node: str) -> list[str]:
    """The release's running pods on the node."""
    return sorted(p.metadata.name for p in kube.core.list_namespaced_pod(
        namespace, label_selector=names.release_selector(), field_selector=f"spec.nodeName={node}").items
        if p.status.phase == "Running")


def busiest_node(kube: Kube, namespace: str, pool: str = "", among: set[str] | None = None) -> str:
    """The node carrying the most of the release's running pods, of the pool (names.POOL_LABEL) if given
    and among the given nodes if given; the activity fails when none of them carries any."""
    allowed = {n.metadata.name for n in kube.core.list_node(
        label_selector=f"{names.POOL_LABEL}={pool}" if pool else None).items}
    if among is not None:
        allowed &= among
    counts = Counter(p.spec.node_name for p in kube.core.list_namespaced_pod(
        namespace, label_selector=names.release_selector()).items
        if p.status.phase == "Running" and p.spec.node_name in allowed)
    if not counts:
        where = f"the {pool} pool's nodes" if pool else "the nodes"
        raise session.ActivityFailed(f"no running pod of {names.RELEASE} on {where} ({', '.join(sorted(allowed)) or 'none'})"
                                     ": a fault there would judge nothing")
    return counts.most_common(1)[0][0]


def is_primary(pod: client.V1Pod) -> bool:
    """The current primary of a replicated store (names.PRIMARY): never the replica a rebalance moves."""
    labels = pod.metadata.labels or {}
    return any(labels.get(key) == value for key, _, value in (s.partition("=") for s in names.PRIMARY.values()))


LOST = (".thaw", ".rejoin")  # the undo freeze_node and evict_node record first


def lost_node(kube: Kube, namespace: str) -> str:
    """The node a pending fault of the ledger hangs or evicted."""
    for _key, entry in reversed(ledger.pending(kube, namespace)):
        if entry["undo"].endswith(LOST):
            return entry["args"]["node"]
    raise session.ActivityFailed("no node is hung or evicted: run freeze_node or evict_node first")


def schedulable_nodes(configuration: dict | None = None, secrets: dict | None = None) -> int:
    """How many nodes are Ready and take pods: a drain or a lost node needs one more than the node it takes."""
    kube = session.kube(configuration)
    return sum(1 for n in kube.core.list_node().items if takes_pods(n))


def seconds_until_node_not_ready(timeout: float = 120, configuration: dict | None = None,
                                 secrets: dict | None = None) -> float:
    """From now until the control plane marks the hung node NotReady (its node-monitor grace period)."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    node, started = lost_node(kube, namespace), time.monotonic()
    try:
        poll(f"node/{node} NotReady", lambda: kube.core.read_node(node), lambda n: not node_ready(n),
             timeout=timeout, interval=1, summary=lambda n: f"conditions {[(c.type, c.status) for c in n.status.conditions or []]}")
    except WaitTimeout as err:
        raise session.ActivityFailed(str(err)) from None
    return round(time.monotonic() - started, 1)


def seconds_until_replaced_elsewhere(timeout: float = 300, configuration: dict | None = None,
                                     secrets: dict | None = None) -> dict:
    """From now until every Deployment of the release has all its replicas ready on other nodes than the
    lost one (a hung node's pods are replaced once their not-ready/unreachable tolerations run out, an
    evicted node's at once). StatefulSet pods are not replaced while their node may still run them:
    their replicas fail over instead."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    node, started = lost_node(kube, namespace), time.monotonic()
    selector = names.release_selector()

    def short() -> dict[str, int]:
        pods = [p for p in kube.core.list_namespaced_pod(namespace, label_selector=selector).items
                if p.spec.node_name != node and is_ready(p)]
        missing = {}
        for deployment in kube.apps.list_namespaced_deployment(namespace, label_selector=selector).items:
            wanted = deployment.spec.replicas or 0
            match = deployment.spec.selector.match_labels or {}
            ready = sum(1 for p in pods if match.items() <= (p.metadata.labels or {}).items())
            if ready < wanted:
                missing[deployment.metadata.name] = wanted - ready
        return missing

    try:
        poll(f"every Deployment's replicas ready off node/{node}", short, lambda m: not m, timeout=timeout,
             interval=2, summary=lambda m: f"replicas missing: {m}")
    except WaitTimeout as err:
        raise session.ActivityFailed(str(err)) from None
    return {"node": node, "seconds": round(time.monotonic() - started, 1)}


def seconds_until_every_node_ready(timeout: float = 120, configuration: dict | None = None,
                                   secrets: dict | None = None) -> float:
    """From now until every node reports Ready and takes pods (a thawed or uncordoned node is back)."""
    kube, started = session.kube(configuration), time.monotonic()
    try:
        poll("every node Ready and schedulable", lambda: kube.core.list_node().items,
             lambda nodes: all(takes_pods(n) for n in nodes), timeout=timeout,
             interval=1, summary=lambda nodes: ", ".join(f"{n.metadata.name}: ready={node_ready(n)} "
                                                         f"cordoned={bool(n.spec.unschedulable)}" for n in nodes))
    except WaitTimeout as err:
        raise session.ActivityFailed(str(err)) from None
    return round(time.monotonic() - started, 1)
