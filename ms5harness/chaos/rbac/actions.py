"""RBAC faults: a ServiceAccount granted more than its workload needs."""

from __future__ import annotations

from kubernetes import client

from ms5harness import names
from ms5harness.chaos import ledger, session
from ms5harness.kube.client import Kube

__all__ = ["grant"]  # the activities; the undo functions are for the ledger


def grant(service_account: str, verbs: list[str], resources: list[str], api_group: str = "",
          configuration: dict | None = None, secrets: dict | None = None) -> str:
    """Bind a new Role allowing `verbs` on `resources` to ServiceAccount ms5-<service_account>."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    sa = names.object_name(service_account)
    name = f"ms5h-chaos-grant-{service_account}"
    ledger.record(kube, namespace, f"role and rolebinding {name} removed", f"{__name__}.revoke", name=name)
    kube.rbac.create_namespaced_role(namespace, client.V1Role(
        metadata=client.V1ObjectMeta(name=name),
        rules=[client.V1PolicyRule(api_groups=[api_group], resources=resources, verbs=verbs)]))
    kube.rbac.create_namespaced_role_binding(namespace, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name=name),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=name),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name=sa, namespace=namespace)]))
    return name


def revoke(kube: Kube, namespace: str, name: str) -> None:
    for delete in (kube.rbac.delete_namespaced_role_binding, kube.rbac.delete_namespaced_role):
        try:
            delete(name, namespace)
        except client.ApiException as err:
            if err.status != 404:
                raise
