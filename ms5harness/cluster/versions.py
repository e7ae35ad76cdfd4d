"""Pinned versions of everything the harness builds from Go modules (the embedded cluster, helm, the fault proxy,
kube-score).

Kubernetes stays on 1.34: the last minor that runs on cgroup v1 hosts.
"""

KUBERNETES = "v1.34.12"
ETCD = "v3.6.16"
COREDNS = "v1.14.5"
KUBE_ROUTER = "v2.1.0"  # the only v2 release the module proxy serves here; see docs/cluster.md
METRICS_SERVER = "v0.8.0"
HELM = "v3.22.0"
# The fault proxy of the latency experiments (chart: faultProxy). v2.5.0 is the newest release the module
# proxy serves here (v2.3.0 and v2.5.0); it has /metrics (since v2.4.0) with -proxy-metrics' byte counters.
TOXIPROXY = "v2.5.0"
# The static suite's manifest scanner (tests/static/test_scanners.py); v1.20.0 is the newest the module proxy serves here.
KUBE_SCORE = "v1.20.0"

KUBERNETES_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
