"""Deployment faults: stop a component entirely (scale to zero) or shrink it."""

from __future__ import annotations

from ms5harness import names
from ms5harness.chaos import ledger, session
from ms5harness.kube.client import Kube

__all__ = ["scale_deployment"]  # the activities; the undo functions are for the ledger


def scale_deployment(component: str, replicas: int, configuration: dict | None = None,
                     secrets: dict | None = None) -> int:
    """Set the component's Deployment to `replicas`; returns the count it had (restored on rollback).

    An HPA does not undo a scale to zero (it pauses at zero replicas), but it does undo a
    scale below its minimum: pick zero to stop a component.
    """
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    name = names.object_name(component)
    before = kube.apps.read_namespaced_deployment_scale(name, namespace).spec.replicas
    ledger.record(kube, namespace, f"deployment/{name} back to {before} replicas",
                  f"{__name__}.restore_replicas", name=name, replicas=before)
    kube.apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})
    return before


def restore_replicas(kube: Kube, namespace: str, name: str, replicas: int) -> None:
    kube.apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})
