"""Pinned versions of everything the embedded cluster builds from Go modules.

Kubernetes stays on 1.34: the last minor that runs on cgroup v1 hosts.
"""

KUBERNETES = "v1.34.12"
ETCD = "v3.6.16"
COREDNS = "v1.14.5"
KUBE_ROUTER = "v2.1.0"  # the only v2 release the module proxy serves here; see docs/cluster.md
METRICS_SERVER = "v0.8.0"
HELM = "v3.22.0"

KUBERNETES_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
