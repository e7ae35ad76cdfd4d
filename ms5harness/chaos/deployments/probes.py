"""Deployment probes: a component is rolled out and every replica available."""

from __future__ import annotations

from ms5harness.chaos import session
from ms5harness.kube.waits import WaitTimeout, deployment_available


def deployment_is_available(component: str, timeout: float = 120, configuration: dict | None = None,
                            secrets: dict | None = None) -> bool:
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    try:
        deployment_available(kube, namespace, session.object_name(component), timeout=timeout)
    except WaitTimeout:
        return False
    return True
