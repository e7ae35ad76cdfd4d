"""Node faults: drain a node as an upgrade does, evict one as Azure evicts a spot VM, or hang one of
the embedded cluster's workers.

Cordoning reuses chaostoolkit-kubernetes (`chaosk8s.node.actions`), pointed at the experiment's own
cluster and verifying TLS. Its `drain_nodes` is not used: it fails on the first eviction a
PodDisruptionBudget refuses (HTTP 429), which is the very thing an upgrade-style drain must wait
out, it skips pods with an emptyDir without saying so, and nothing records the cordon for a run that
is killed. Here the cordon is recorded in the ledger first, refused evictions are asked again until
the drain's timeout, and the pods that were evicted are waited out with the last state reported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from chaosk8s.node.actions import cordon_node, uncordon_node
from kubernetes import client
from kubernetes.config import kube_config

from ms5harness import names
from ms5harness.chaos import ledger, session
from ms5harness.chaos.nodes import machines
from ms5harness.chaos.nodes.probes import MIRROR, busiest_node, is_primary, ms5_pods_on, schedulable_nodes
from ms5harness.chaos.pods.probes import is_ready
from ms5harness.cluster import workers
from ms5harness.cluster.spec import ClusterSpec
from ms5harness.kube.client import Kube
from ms5harness.kube import objects
from ms5harness.kube.waits import WaitTimeout, poll, takes_pods

__all__ = ["drain_node", "evict_node", "freeze_node", "spread_replicas"]  # uncordon, rejoin, thaw: the ledger's undo

DRAIN_SECONDS = 300  # an upgrade's drain of one node, PodDisruptionBudgets waited out
SPOT_NOTICE_SECONDS = 30  # Azure's notice before it evicts a spot VM (Scheduled Events "Preempt")
EVICTION_RETRY_SECONDS = 2  # a PodDisruptionBudget refused an eviction: ask again after this
SPREAD_SECONDS = 240  # a moved replica restarted on another node and ready (a Patroni replica re-syncs)


@contextmanager
def chaosk8s_on(kube: Kube) -> Iterator[None]:
    """chaostoolkit-kubernetes does not take the experiment's cluster: it loads the default kubeconfig,
    which the Kubernetes client fixed from $KUBECONFIG when it was first imported (setting the variable
    later changes nothing), in its current context, and skips TLS verification unless
    KUBERNETES_VERIFY_SSL is set. Point all three at `kube`'s cluster, verified, for the call."""
    keys = ("KUBECONFIG", "KUBERNETES_VERIFY_SSL", "KUBERNETES_CONTEXT")
    saved = {key: os.environ.get(key) for key in keys}
    default_location = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
    os.environ.update(KUBECONFIG=str(kube.kubeconfig), KUBERNETES_VERIFY_SSL="true")
    os.environ.pop("KUBERNETES_CONTEXT", None)
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(kube.kubeconfig)
    try:
        yield
    finally:
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = default_location
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def uncordon(kube: Kube, namespace: str, node: str) -> None:
    """Undo of a drain: the node takes pods again (a node deleted since has nothing to undo)."""
    if kube.core.list_node(field_selector=f"metadata.name={node}").items:
        with chaosk8s_on(kube):
            uncordon_node(name=node)


def thaw(kube: Kube, namespace: str, node: str) -> None:
    """Undo of a hang: the worker's processes run again (its kubelet reports Ready within seconds)."""
    spec = machines.embedded_workers(kube).get(node)
    if spec is not None:  # a worker removed since has nothing left to thaw
        workers.thaw(spec)


def evictable(kube: Kube, node: str, lose_unmanaged: bool = False) -> list[client.V1Pod]:
    """What `kubectl drain --ignore-daemonsets --delete-emptydir-data` evicts: every pod of the node
    but mirror pods, DaemonSet pods and those already going. A pod no controller recreates stops the
    drain (as without --force) or, with `lose_unmanaged`, is left to go down with the node."""
    pods = []
    for pod in kube.core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items:
        owners = pod.metadata.owner_references or []
        if MIRROR in (pod.metadata.annotations or {}) or any(o.kind == "DaemonSet" for o in owners) \
                or pod.metadata.deletion_timestamp is not None or pod.status.phase in ("Succeeded", "Failed"):
            continue
        if not any(o.controller for o in owners):
            if lose_unmanaged:
                continue
            raise session.ActivityFailed(f"pod {pod.metadata.namespace}/{pod.metadata.name} on node/{node} has no "
                                         "controller: a drain would lose it (delete it first)")
        pods.append(pod)
    return pods


def evict(kube: Kube, pods: list[client.V1Pod], deadline: float) -> tuple[list[client.V1Pod], int]:
    """Ask for each pod's eviction, again every EVICTION_RETRY_SECONDS while a PodDisruptionBudget refuses
    (HTTP 429), until the deadline; returns the pods still refused and how many refusals there were."""
    waiting, refusals = list(pods), 0
    while waiting:
        for pod in list(waiting):
            eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod.metadata.name,
                                                                      namespace=pod.metadata.namespace))
            try:
                kube.core.create_namespaced_pod_eviction(pod.metadata.name, pod.metadata.namespace, eviction)
            except client.ApiException as err:
                if err.status == 429:  # a PodDisruptionBudget: not now
                    refusals += 1
                    continue
                if err.status != 404:
                    raise session.ActivityFailed(f"evicting {pod.metadata.namespace}/{pod.metadata.name}: "
                                                 f"{err.status} {err.reason}") from None
            waiting.remove(pod)
        if not waiting or time.monotonic() + EVICTION_RETRY_SECONDS > deadline:
            break
        time.sleep(EVICTION_RETRY_SECONDS)
    return waiting, refusals


def still_on(kube: Kube, node: str, pods: list[client.V1Pod]) -> list[str]:
    """Which of the pods still exist on the node."""
    uids = {p.metadata.uid for p in pods}
    return sorted(p.metadata.name for p in kube.core.list_pod_for_all_namespaces(
        field_selector=f"spec.nodeName={node}").items if p.metadata.uid in uids)


def cordon(kube: Kube, node: str) -> None:
    with chaosk8s_on(kube):
        cordon_node(name=node)


def drain_node(node: str = "", pool: str = "", timeout: float = DRAIN_SECONDS, configuration: dict | None = None,
               secrets: dict | None = None) -> dict:
    """Drain a node as an AKS upgrade does: cordon it, evict every pod, asking again while a
    PodDisruptionBudget refuses, and wait until they are gone. `node` "" picks the node of `pool` (any
    pool if "") carrying the most MS5 pods. Another Ready, schedulable node must exist. Uncordoned by the
    rollback, whatever happens."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    node = node or busiest_node(kube, namespace, pool)
    others = [n.metadata.name for n in kube.core.list_node().items if n.metadata.name != node and takes_pods(n)]
    if not others:
        raise session.ActivityFailed(f"draining node/{node} leaves no Ready, schedulable node for its pods")
    pods = evictable(kube, node)
    ms5 = len(ms5_pods_on(kube, namespace, node))
    ledger.record(kube, namespace, f"node/{node} schedulable again", f"{uncordon.__module__}.uncordon", node=node)
    started = time.monotonic()
    cordon(kube, node)
    deadline = started + timeout
    refused, refusals = evict(kube, pods, deadline)
    if refused:
        raise session.ActivityFailed(f"node/{node} not drained within {timeout:g}s: PodDisruptionBudgets still "
                                     f"refuse {', '.join(p.metadata.name for p in refused)}")
    try:
        poll(f"the pods evicted from node/{node} gone", lambda: still_on(kube, node, pods), lambda left: not left,
             timeout=max(1.0, deadline - time.monotonic()), interval=1, summary=", ".join)
    except WaitTimeout as err:
        raise session.ActivityFailed(str(err)) from None
    return {"node": node, "evicted": sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in pods), "ms5_pods": ms5,
            "refused_evictions": refusals,
            "seconds": round(time.monotonic() - started, 1)}


def worker_to_fault(kube: Kube, namespace: str, node: str, pool: str, fault: str) -> tuple[str, ClusterSpec, list[str]]:
    """The embedded worker a fault takes (`node`, or the one of `pool` carrying the most MS5 pods), its spec
    and its MS5 pods; a node that is not such a worker, or carries none of them, fails the activity."""
    node = node or busiest_node(kube, namespace, pool, among=set(machines.embedded_workers(kube)))
    spec = machines.embedded_worker(kube, node)
    pods = ms5_pods_on(kube, namespace, node)
    if not pods:
        raise session.ActivityFailed(f"node/{node} carries no pod of {names.RELEASE}: {fault} it would judge nothing")
    return node, spec, pods


def set_taints(kube: Kube, node: str, taints: list[client.V1Taint]) -> None:
    kube.core.patch_node(node, {"spec": {"taints": [kube.api.sanitize_for_serialization(t) for t in taints]}})


def rejoin(kube: Kube, namespace: str, node: str) -> None:
    """Undo of a spot eviction: a node still running (the run stopped within the notice) is untainted and
    uncordoned; one that was killed is replaced by a fresh worker of the same name, as the scale set adds."""
    spec = machines.embedded_workers(kube).get(node)
    if spec is None:  # a worker removed since has nothing to come back to
        return
    if workers.node_pids(spec) and kube.core.list_node(field_selector=f"metadata.name={node}").items:
        set_taints(kube, node, [t for t in kube.core.read_node(node).spec.taints or [] if t.key != names.EVICTION_TAINT[0]])
        uncordon(kube, namespace, node)
        return
    machines.replace_worker(kube, node)


def evict_node(node: str = "", pool: str = "", notice: float = SPOT_NOTICE_SECONDS,
               configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Evict an embedded worker as Azure evicts a spot VM: at the notice it is tainted
    (names.EVICTION_TAINT) and cordoned and its pods are evicted, PodDisruptionBudgets honoured while the
    notice lasts; when it ends the VM is gone: its kubelet and every container killed at once, its Node
    object deleted. Pods not evicted by then go down with it. `node` "" picks the worker of `pool` (any
    if "") carrying the most MS5 pods. A replacement joins in the rollback (rejoin), whatever happens."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    node, spec, ms5 = worker_to_fault(kube, namespace, node, pool, "evicting")
    pods = evictable(kube, node, lose_unmanaged=True)
    ledger.record(kube, namespace, f"node/{node} replaced", f"{rejoin.__module__}.rejoin", node=node)
    started = time.monotonic()
    key, value, effect = names.EVICTION_TAINT
    set_taints(kube, node, [*(kube.core.read_node(node).spec.taints or []), client.V1Taint(key=key, value=value, effect=effect)])
    cordon(kube, node)
    refused, refusals = evict(kube, pods, started + notice)
    time.sleep(max(0.0, started + notice - time.monotonic()))  # the VM goes when the notice ends
    left = still_on(kube, node, pods)
    killed = workers.kill_everything(spec)
    kube.core.delete_node(node)
    return {"node": node, "notice_seconds": notice, "ms5_pods": ms5, "refused_evictions": refusals,
            "evicted": sorted(p.metadata.name for p in pods if p not in refused),
            "gone_with_the_node": left, "killed_processes": killed,
            "seconds": round(time.monotonic() - started, 1)}


def freeze_node(node: str = "", pool: str = "", configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Hang an embedded worker without notice, as a VM that stops answering: its kubelet, runtime and
    every container frozen at once. `node` "" picks the worker of `pool` (any if "") carrying the most MS5
    pods; a worker carrying none would prove nothing and fails the activity. Thawed by the rollback."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    node, spec, pods = worker_to_fault(kube, namespace, node, pool, "hanging")
    ledger.record(kube, namespace, f"node/{node} running again", f"{thaw.__module__}.thaw", node=node)
    workers.freeze(spec)
    return {"node": node, "ms5_pods": pods}


def spread_replicas(timeout: float = SPREAD_SECONDS, configuration: dict | None = None,
                    secrets: dict | None = None) -> list[str]:
    """After a node fault the replicas pile up on the nodes that stayed, and nothing moves them back:
    for every replicated Deployment or StatefulSet of the release whose ready pods all share one node,
    delete one pod that is not a store's primary, so the scheduler's anti-affinity puts its replacement
    on another node, and wait until the controller is ready again. Returns the pods moved (none when
    already spread, or on one node). Nothing to roll back: the controllers recreate what is deleted."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    if schedulable_nodes(configuration) < 2:
        return []
    selector, moved = names.release_selector(), []
    controllers = [*kube.apps.list_namespaced_deployment(namespace, label_selector=selector).items,
                   *kube.apps.list_namespaced_stateful_set(namespace, label_selector=selector).items]
    for controller in controllers:
        wanted = controller.spec.replicas or 0
        match = objects.selector_text(controller.spec.selector)

        def ready() -> list[client.V1Pod]:
            return [p for p in kube.core.list_namespaced_pod(namespace, label_selector=match).items if is_ready(p)]

        pods = ready()
        if wanted < 2 or len(pods) < 2 or len({p.spec.node_name for p in pods}) > 1:
            continue
        victim = next((p for p in sorted(pods, key=lambda p: p.metadata.creation_timestamp, reverse=True)
                       if not is_primary(p)), None)
        if victim is None:
            continue
        kube.core.delete_namespaced_pod(victim.metadata.name, namespace)
        moved.append(victim.metadata.name)
        try:
            poll(f"{controller.metadata.name} ready again after moving {victim.metadata.name}", ready,
                 lambda now: len(now) >= wanted and victim.metadata.uid not in {p.metadata.uid for p in now},
                 timeout=timeout, interval=2, summary=lambda now: f"ready: {[p.metadata.name for p in now]}")
        except WaitTimeout as err:
            raise session.ActivityFailed(str(err)) from None
    return moved
