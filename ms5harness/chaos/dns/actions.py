"""Take DNS away from the namespace's pods by narrowing the NetworkPolicy that grants it.

Only this namespace loses its lookups (CoreDNS keeps serving the rest of the cluster), so the
fault is safe on a shared cluster; on AKS CoreDNS is a managed add-on that scaling would fight.
"""

from __future__ import annotations

from ms5harness import names
from ms5harness.chaos import ledger, session
from ms5harness.chaos.networkpolicies.actions import restore_spec

__all__ = ["deny_lookups"]


def deny_lookups(configuration: dict | None = None, secrets: dict | None = None) -> str:
    """Remove every egress rule of the policy that lets the namespace's pods reach CoreDNS; returns its
    name (its spec is restored on rollback). Connections already open keep working: only new lookups fail."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    name = names.object_name(names.DNS_POLICY_COMPONENT)
    policy = kube.networking.read_namespaced_network_policy(name, namespace)
    spec = kube.api.sanitize_for_serialization(policy.spec)
    if not spec.get("egress"):
        raise session.ActivityFailed(f"networkpolicy/{name} grants no DNS egress to deny")
    ledger.record(kube, namespace, f"networkpolicy/{name} grants DNS again", f"{restore_spec.__module__}.restore_spec",
                  name=name, spec=spec)
    kube.networking.patch_namespaced_network_policy(name, namespace, [{"op": "replace", "path": "/spec/egress", "value": []}])
    return name
