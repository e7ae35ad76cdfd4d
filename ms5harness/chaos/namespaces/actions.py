"""Namespace faults: Pod Security admission relaxed on the stack's namespace."""

from __future__ import annotations

from ms5harness.chaos import ledger, session
from ms5harness.kube.client import Kube

__all__ = ["set_pod_security"]  # the activities; the undo functions are for the ledger

ENFORCE = "pod-security.kubernetes.io/enforce"


def set_pod_security(level: str, configuration: dict | None = None, secrets: dict | None = None) -> str | None:
    """Set the namespace's enforced Pod Security level; returns the previous one (restored on rollback)."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    before = (kube.core.read_namespace(namespace).metadata.labels or {}).get(ENFORCE)
    ledger.record(kube, namespace, f"namespace/{namespace} {ENFORCE} back to {before}",
                  f"{__name__}.restore_pod_security", level=before)
    restore_pod_security(kube, namespace, level)
    return before


def restore_pod_security(kube: Kube, namespace: str, level: str | None) -> None:
    kube.core.patch_namespace(namespace, {"metadata": {"labels": {ENFORCE: level}}})
