"""Service faults: a Service whose selector matches no pod, the classic broken rename."""

from __future__ import annotations

from ms5harness import names
from ms5harness.chaos import ledger, session
from ms5harness.kube.client import Kube

__all__ = ["change_selector"]  # the activities; the undo functions are for the ledger


def change_selector(service: str, selector: dict[str, str], configuration: dict | None = None,
                    secrets: dict | None = None) -> dict[str, str]:
    """Replace the selector of Service ms5-<service>; returns the old one (restored on rollback)."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    name = names.object_name(service)
    before = kube.core.read_namespaced_service(name, namespace).spec.selector
    ledger.record(kube, namespace, f"service/{name} selector back to {before}",
                  f"{__name__}.restore_selector", name=name, selector=before)
    restore_selector(kube, namespace, name, selector)
    return before


def restore_selector(kube: Kube, namespace: str, name: str, selector: dict[str, str]) -> None:
    kube.core.patch_namespaced_service(name, namespace, [{"op": "replace", "path": "/spec/selector", "value": selector}])
