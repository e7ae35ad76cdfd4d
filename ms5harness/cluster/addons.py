"""In-cluster add-ons of the embedded node: CoreDNS, metrics-server, kube-router's RBAC.

Built as Python objects (not templated text) so their security settings are
checked by unit tests. Both add-on pods satisfy Pod Security `restricted`.
"""

from __future__ import annotations

from ms5harness.cluster import configs
from ms5harness.cluster.node_images import COREDNS, METRICS_SERVER
from ms5harness.cluster.spec import ClusterSpec
from ms5harness.kube import objects

SYSTEM = "kube-system"
NOBODY = 65534  # the add-on images are FROM scratch: no user of their own


def _labels(app: str) -> dict:
    return {"k8s-app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "ms5-embedded-cluster"}


def _cluster_role(name: str, rules: list[dict]) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules}


def _binding(kind: str, name: str, role_kind: str, role: str, subject: dict, namespace: str | None = None) -> dict:
    meta = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": [subject]}


def _service_account(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": SYSTEM}}


def _sa_subject(name: str) -> dict:
    return {"kind": "ServiceAccount", "name": name, "namespace": SYSTEM}


def _deployment(app: str, image: str, args: list[str], ports: list[dict], probes: dict,
                resources: dict, volumes: list[dict] | None = None, mounts: list[dict] | None = None) -> dict:
    container = {
        "name": app, "image": image, "imagePullPolicy": "Never", "args": args, "ports": ports,
        "resources": resources, "securityContext": objects.restricted_container(), **probes,
    }
    if mounts:
        container["volumeMounts"] = mounts
    pod_spec = {
        "serviceAccountName": app,
        "priorityClassName": "system-cluster-critical",
        "securityContext": objects.restricted_pod(NOBODY),
        "containers": [container],
    }
    if volumes:
        pod_spec["volumes"] = volumes
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": app, "namespace": SYSTEM, "labels": _labels(app)},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"k8s-app": app}},
                 "template": {"metadata": {"labels": _labels(app)}, "spec": pod_spec}},
    }


def _http_probes(path_ready: str, port: int | str, scheme: str = "HTTP", live_path: str | None = None) -> dict:
    def probe(path: str, period: int) -> dict:
        return {"httpGet": {"path": path, "port": port, "scheme": scheme}, "periodSeconds": period,
                "timeoutSeconds": 3, "failureThreshold": 3}

    return {"readinessProbe": probe(path_ready, 5), "livenessProbe": probe(live_path or path_ready, 10)}


def coredns(spec: ClusterSpec) -> list[dict]:
    app = "coredns"
    probes = _http_probes("/ready", 8181)
    probes["livenessProbe"]["httpGet"] = {"path": "/health", "port": 8080, "scheme": "HTTP"}
    return [
        _service_account(app),
        _cluster_role("system:coredns", [
            {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
             "verbs": ["list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ]),
        _binding("ClusterRoleBinding", "system:coredns", "ClusterRole", "system:coredns", _sa_subject(app)),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": app, "namespace": SYSTEM},
         "data": {"Corefile": configs.corefile(spec)}},
        _deployment(
            app, COREDNS.ref, ["-conf", "/etc/coredns/Corefile"],
            [{"name": "dns", "containerPort": 1053, "protocol": "UDP"},
             {"name": "dns-tcp", "containerPort": 1053, "protocol": "TCP"},
             {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}],
            probes,
            {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
            volumes=[{"name": "config", "configMap": {"name": app}}],
            mounts=[{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
        ),
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": SYSTEM, "labels": _labels(app)},
         "spec": {"clusterIP": spec.dns_service_ip, "selector": {"k8s-app": app}, "ports": [
             {"name": "dns", "port": 53, "targetPort": 1053, "protocol": "UDP"},
             {"name": "dns-tcp", "port": 53, "targetPort": 1053, "protocol": "TCP"},
             {"name": "metrics", "port": 9153, "targetPort": 9153, "protocol": "TCP"}]}},
    ]


def metrics_server(spec: ClusterSpec) -> list[dict]:
    app = "metrics-server"
    return [
        _service_account(app),
        _cluster_role("system:aggregated-metrics-reader", [
            {"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
        ]) | {"metadata": {"name": "system:aggregated-metrics-reader", "labels": {
            "rbac.authorization.k8s.io/aggregate-to-view": "true",
            "rbac.authorization.k8s.io/aggregate-to-edit": "true",
            "rbac.authorization.k8s.io/aggregate-to-admin": "true"}}},
        _cluster_role("system:metrics-server", [
            {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
        ]),
        _binding("RoleBinding", "metrics-server-auth-reader", "Role", "extension-apiserver-authentication-reader",
                 _sa_subject(app), namespace=SYSTEM),
        _binding("ClusterRoleBinding", "metrics-server:system:auth-delegator", "ClusterRole",
                 "system:auth-delegator", _sa_subject(app)),
        _binding("ClusterRoleBinding", "system:metrics-server", "ClusterRole", "system:metrics-server",
                 _sa_subject(app)),
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": app, "namespace": SYSTEM, "labels": _labels(app)},
         "spec": {"selector": {"k8s-app": app},
                  "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]}},
        _deployment(
            app, METRICS_SERVER.ref,
            ["--cert-dir=/tmp", "--secure-port=10250", "--kubelet-preferred-address-types=InternalIP",
             # The kubelet's serving certificate is signed by the cluster CA, which every
             # pod receives with its service-account token: verify it, never skip TLS.
             "--kubelet-certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
             "--metric-resolution=15s", "--kubelet-use-node-status-port"],
            [{"name": "https", "containerPort": 10250, "protocol": "TCP"}],
            _http_probes("/readyz", "https", "HTTPS", live_path="/livez"),
            {"requests": {"cpu": "20m", "memory": "48Mi"}, "limits": {"memory": "192Mi"}},
            volumes=[{"name": "tmp", "emptyDir": {}}],
            mounts=[{"name": "tmp", "mountPath": "/tmp"}],
        ),
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
         "metadata": {"name": "v1beta1.metrics.k8s.io", "labels": _labels(app)},
         "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                  "versionPriority": 100, "insecureSkipTLSVerify": True,
                  "service": {"name": app, "namespace": SYSTEM, "port": 443}}},
    ]


def kube_router_rbac() -> list[dict]:
    """kube-router runs on the host with its own client certificate (user system:kube-router)."""
    name = "system:kube-router"
    return [
        _cluster_role(name, [
            {"apiGroups": [""], "resources": ["namespaces", "pods", "services", "nodes", "endpoints"],
             "verbs": ["list", "get", "watch"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["list", "get", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "get", "watch"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        ]),
        _binding("ClusterRoleBinding", name, "ClusterRole", name,
                 {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}),
    ]


def all_addons(spec: ClusterSpec) -> list[dict]:
    return kube_router_rbac() + coredns(spec) + metrics_server(spec)
