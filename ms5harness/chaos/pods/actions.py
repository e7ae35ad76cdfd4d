"""Pod faults: kill pods the way a node crash or an OOM kill would."""

from __future__ import annotations

import random

from kubernetes import client

from ms5harness import names
from ms5harness.chaos import ledger, session
from ms5harness.kube import objects
from ms5harness.kube.client import Kube

__all__ = ["terminate_pods", "start_noisy_neighbour"]  # the activities; delete_pod is the ledger's undo


def terminate_pods(component: str, count: int = 1, label_selector: str = "", grace_period: int = 0,
                   configuration: dict | None = None, secrets: dict | None = None) -> list[str]:
    """Delete `count` running pods of a component (random choice); its controller replaces them.

    `label_selector` narrows the choice, e.g. "role=master" for the Patroni leader.
    Nothing to roll back: recovery is the controller's job, and the experiment's to check.
    """
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    selector = ",".join(filter(None, [names.component_selector(component), label_selector]))
    pods = [p for p in kube.core.list_namespaced_pod(namespace, label_selector=selector).items
            if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]
    if len(pods) < count:
        raise session.ActivityFailed(f"wanted {count} running pod(s) matching {selector}, found {len(pods)}")
    victims = random.sample(pods, count)
    for pod in victims:
        kube.core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=grace_period)
    return [p.metadata.name for p in victims]


NEIGHBOUR = "ms5h-noisy-neighbour"  # the pod's name and component label: one neighbour at a time
# What the neighbour runs: two busy loops (twice the CPU its limit allows), or allocations of 16 MiB
# every 0.1 s, written so the pages are really used, until the kernel kills it at its limit.
NEIGHBOUR_COMMANDS = {
    "cpu": ["sh", "-c", "python3 -c 'while True: pass' & exec python3 -c 'while True: pass'"],
    "memory": ["python3", "-c", "import time\nheld = []\nwhile True:\n    held.append(b'x' * (16 << 20))\n"
                                "    time.sleep(0.1)"],
}


def start_noisy_neighbour(kind: str, cpu: str = "1", memory: str = "128Mi", beside: str = "backend",
                          configuration: dict | None = None, secrets: dict | None = None) -> str:
    """Start a pod on the node of a `beside` pod that exhausts its own limits: `kind` "cpu" burns
    twice the `cpu` it may use, "memory" allocates until it is OOM-killed at `memory` (and restarts).
    It runs the `beside` component's own image, so it needs nothing the cluster does not have, and
    no network (the namespace denies by default). Removed on rollback."""
    if kind not in NEIGHBOUR_COMMANDS:
        raise session.ActivityFailed(f"no noisy neighbour of kind {kind!r} (choose {', '.join(NEIGHBOUR_COMMANDS)})")
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    pods = [p for p in kube.core.list_namespaced_pod(namespace, label_selector=names.component_selector(beside)).items
            if p.status.phase == "Running" and p.spec.node_name]
    if not pods:
        raise session.ActivityFailed(f"no running {beside} pod to start a neighbour beside")
    ledger.record(kube, namespace, f"pod/{NEIGHBOUR} removed", f"{__name__}.delete_pod", name=NEIGHBOUR)
    manifest = objects.pod(NEIGHBOUR, pods[0].spec.containers[0].image, command=NEIGHBOUR_COMMANDS[kind],
                           labels={names.COMPONENT: NEIGHBOUR, names.MANAGED_BY: names.HARNESS},
                           resources={"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": cpu, "memory": memory}})
    manifest["spec"]["nodeName"] = pods[0].spec.node_name
    kube.core.create_namespaced_pod(namespace, manifest)
    return f"{NEIGHBOUR} ({kind}) on {pods[0].spec.node_name}"


def delete_pod(kube: Kube, namespace: str, name: str) -> None:
    try:
        kube.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    except client.ApiException as err:
        if err.status != 404:
            raise
