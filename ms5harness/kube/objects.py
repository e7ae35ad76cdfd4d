"""Builders for the small objects tests and experiments create (as plain dicts).

Every pod built here passes Pod Security `restricted`, so the same probes run
in the MS5 namespace, in scratch namespaces and on AKS.
"""

from __future__ import annotations

import copy

PROBE_USER = 10001  # the toolbox image's unprivileged user (and the load image's)


def selector_text(selector) -> str:
    """A controller's label selector (its matchLabels) as the API's label_selector query."""
    return ",".join(f"{k}={v}" for k, v in (selector.match_labels or {}).items())


def restricted_container() -> dict:
    """A container security context Pod Security `restricted` admits (a fresh dict per container)."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_pod(user: int) -> dict:
    """The pod-level half of `restricted`: a non-root user and group, the runtime's seccomp profile."""
    return {"runAsNonRoot": True, "runAsUser": user, "runAsGroup": user, "seccompProfile": {"type": "RuntimeDefault"}}


def namespace(name: str, pod_security: str | None = None, labels: dict | None = None) -> dict:
    all_labels = dict(labels or {})
    if pod_security:
        all_labels.update({f"pod-security.kubernetes.io/{mode}": pod_security for mode in ("enforce", "warn", "audit")})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": all_labels}}


PROBE_RESOURCES = {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}


def pod_spec(image: str, command: list[str] | None = None, port: int | None = None,
             privileged: bool = False, resources: dict | None = None, port_name: str = "http",
             node: str | None = None) -> dict:
    """node: pin the pod to that node (tolerating its taints, a spot node's included)."""
    container: dict = {
        "name": "main", "image": image, "imagePullPolicy": "IfNotPresent",
        "resources": copy.deepcopy(resources or PROBE_RESOURCES),
        "securityContext": {"privileged": True} if privileged else restricted_container(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if command:
        container["command"] = command
    if port:
        container["ports"] = [{"name": port_name, "containerPort": port}]
        container["readinessProbe"] = {"tcpSocket": {"port": port}, "periodSeconds": 1}
    spec = {
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 1,
        "enableServiceLinks": False,
        "securityContext": {} if privileged else restricted_pod(PROBE_USER),
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}],
    }
    if node:
        spec |= {"nodeName": node, "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}]}
    return spec


def pod(name: str, image: str, labels: dict | None = None, **spec_args) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": pod_spec(image, **spec_args)}


def deployment(name: str, image: str, replicas: int = 1, **spec_args) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": pod_spec(image, **spec_args)}},
    }


def metadata(name: str, labels: dict | None) -> dict:
    return {"name": name, "labels": labels} if labels else {"name": name}


def service(name: str, selector: dict, port: int, target_port: int | str, node_port: bool = False,
            port_name: str = "http", labels: dict | None = None) -> dict:
    spec: dict = {"selector": selector, "ports": [{"name": port_name, "port": port, "targetPort": target_port}]}
    if node_port:
        spec["type"] = "NodePort"
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata(name, labels), "spec": spec}


def network_policy(name: str, pod_selector: dict, ingress: list | None = None, egress: list | None = None,
                   labels: dict | None = None) -> dict:
    """A policy for the given directions; an empty rule list means deny everything in that direction."""
    types, spec = [], {"podSelector": {"matchLabels": pod_selector} if pod_selector else {}}
    if ingress is not None:
        types.append("Ingress")
        spec["ingress"] = ingress
    if egress is not None:
        types.append("Egress")
        spec["egress"] = egress
    spec["policyTypes"] = types
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata(name, labels),
            "spec": spec}
