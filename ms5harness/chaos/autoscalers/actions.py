"""Reset a HorizontalPodAutoscaler, so that a run starts from rest and the next is not shaped by this one.

The controller keeps an HPA's recent recommendations (its scale-down stabilization window, 5 min by
default) and scale events in memory, keyed by the object, and forgets them when the object is deleted:
recreating the HPA from its own manifest is the one reset Kubernetes offers.
"""

from __future__ import annotations

import time

from kubernetes import client

from ms5harness.chaos import ledger, session
from ms5harness.kube.client import Kube
from ms5harness.kube.waits import poll

__all__ = ["reset_autoscaler"]  # the activities; the undo function is for the ledger

GONE_SECONDS = 30  # the deleted HPA no longer served by the API server
CONTROLLER_FORGETS_SECONDS = 3  # the controller's informer sees the deletion and drops its state


def manifest_of(kube: Kube, hpa: client.V2HorizontalPodAutoscaler) -> dict:
    """The HPA as it could be created again: its spec, name, labels and annotations (Helm's ownership too)."""
    body = kube.api.sanitize_for_serialization(hpa)
    meta = body["metadata"]
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {k: meta[k] for k in ("name", "labels", "annotations") if k in meta}, "spec": body["spec"]}


def recreate(kube: Kube, namespace: str, manifest: dict) -> None:
    """Delete the HPA (if it is there), wait until it is gone and forgotten, create it from `manifest`."""
    name = manifest["metadata"]["name"]
    try:
        kube.autoscaling.delete_namespaced_horizontal_pod_autoscaler(name, namespace)
    except client.ApiException as err:
        if err.status != 404:
            raise
    poll(f"horizontalpodautoscaler/{name} deleted", lambda: [h.metadata.name for h in
         kube.autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items], lambda names: name not in names,
         GONE_SECONDS)
    time.sleep(CONTROLLER_FORGETS_SECONDS)
    kube.autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, manifest)


def reset_autoscaler(name: str, configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Recreate the HPA now (recorded first: the rollback recreates it again, whatever the run's outcome)."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    try:
        manifest = manifest_of(kube, kube.autoscaling.read_namespaced_horizontal_pod_autoscaler(name, namespace))
    except client.ApiException as err:
        raise session.ActivityFailed(f"horizontalpodautoscaler/{name} in {namespace}: HTTP {err.status} {err.reason}") from None
    ledger.record(kube, namespace, f"horizontalpodautoscaler/{name} recreated (its state reset)",
                  f"{__name__}.recreate", manifest=manifest)
    recreate(kube, namespace, manifest)
    return {"min": manifest["spec"].get("minReplicas", 1), "max": manifest["spec"]["maxReplicas"]}
