"""Persistent volumes for the embedded node, which has no dynamic provisioner.

Before a deploy, every claim the chart will make (StatefulSet volumeClaimTemplates
times replicas, and standalone PVCs) gets a hostPath PersistentVolume under the
node's state directory, pre-bound to that claim by claimRef and owned by the pod's
user, so non-root pods can write. `cluster down` removes them with the rest of the
state; `release` removes them for one namespace.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client

from ms5harness.cluster.spec import ClusterSpec
from ms5harness.kube.client import Kube

STORAGE_CLASS = "ms5-local"


@dataclass(frozen=True)
class Claim:
    namespace: str
    name: str
    size: str
    uid: int
    gid: int


def storage_class() -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "labels": {"app.kubernetes.io/managed-by": "ms5harness"}},
        "provisioner": "kubernetes.io/no-provisioner",
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
    }


def _owner(pod_spec: dict) -> tuple[int, int]:
    ctx = pod_spec.get("securityContext") or {}
    uid = ctx.get("runAsUser") or next(
        (c.get("securityContext", {}).get("runAsUser") for c in pod_spec.get("containers", [])
         if c.get("securityContext", {}).get("runAsUser")), 10001)
    return int(uid), int(ctx.get("fsGroup") or ctx.get("runAsGroup") or uid)


def claims_of(objects: list[dict], namespace: str) -> list[Claim]:
    """Every claim the rendered objects will create, with the user that must own it."""
    found: list[Claim] = []
    for obj in objects:
        ns = obj.get("metadata", {}).get("namespace", namespace)
        if obj["kind"] == "StatefulSet":
            owner = _owner(obj["spec"]["template"]["spec"])
            for tpl in obj["spec"].get("volumeClaimTemplates") or []:
                if tpl["spec"].get("storageClassName") not in (None, STORAGE_CLASS):
                    continue
                size = tpl["spec"]["resources"]["requests"]["storage"]
                for i in range(obj["spec"].get("replicas", 1)):
                    found.append(Claim(ns, f"{tpl['metadata']['name']}-{obj['metadata']['name']}-{i}", size, *owner))
        elif obj["kind"] == "PersistentVolumeClaim" and obj["spec"].get("storageClassName") == STORAGE_CLASS:
            found.append(Claim(ns, obj["metadata"]["name"], obj["spec"]["resources"]["requests"]["storage"],
                               10001, 10001))
    return found


def volume_dir(spec: ClusterSpec, claim: Claim) -> Path:
    return spec.state / "volumes" / claim.namespace / claim.name


def volume_name(claim: Claim) -> str:
    return f"ms5h-{claim.namespace}-{claim.name}"[:253]


def persistent_volume(spec: ClusterSpec, claim: Claim) -> dict:
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": volume_name(claim), "labels": {"app.kubernetes.io/managed-by": "ms5harness",
                                                            "ms5harness/namespace": claim.namespace}},
        "spec": {
            "capacity": {"storage": claim.size},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            "claimRef": {"namespace": claim.namespace, "name": claim.name},
            "hostPath": {"path": str(volume_dir(spec, claim)), "type": "Directory"},
        },
    }


def provision(kube: Kube, spec: ClusterSpec, claims: list[Claim]) -> int:
    """Create missing volumes; returns how many were created."""
    storage = client.StorageV1Api(kube.api)
    try:
        storage.read_storage_class(STORAGE_CLASS)
    except client.ApiException as err:
        if err.status != 404:
            raise
        storage.create_storage_class(storage_class())
    existing = {pv.metadata.name for pv in kube.core.list_persistent_volume().items}
    created = 0
    for claim in claims:
        path = volume_dir(spec, claim)
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, claim.uid, claim.gid)
        path.chmod(0o700)
        if volume_name(claim) not in existing:
            kube.core.create_persistent_volume(persistent_volume(spec, claim))
            created += 1
    return created


def release(kube: Kube, spec: ClusterSpec, namespace: str) -> None:
    """Delete the namespace's volumes and their data (after its claims are gone)."""
    for pv in kube.core.list_persistent_volume(label_selector=f"ms5harness/namespace={namespace}").items:
        kube.core.delete_persistent_volume(pv.metadata.name)
    shutil.rmtree(spec.state / "volumes" / namespace, ignore_errors=True)
