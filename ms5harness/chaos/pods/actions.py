"""Pod faults: kill pods the way a node crash or an OOM kill would."""

from __future__ import annotations

import random

from ms5harness import names
from ms5harness.chaos import session

__all__ = ["terminate_pods"]


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
