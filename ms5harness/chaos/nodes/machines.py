"""Which nodes the harness may hang or kill: only workers of the embedded cluster it runs on this
machine. On any other cluster a node is somebody's VM: the harness drains it, never kills it."""

from __future__ import annotations

from ms5harness.chaos import session
from ms5harness.cluster import workers
from ms5harness.cluster.spec import ClusterSpec, local_spec
from ms5harness.kube.client import Kube


def embedded_workers(kube: Kube) -> dict[str, ClusterSpec]:
    """The embedded cluster's workers by node name, when `kube` is that cluster; empty otherwise."""
    cluster = local_spec()
    kubeconfig = cluster.admin_kubeconfig
    if not kubeconfig.exists() or kube.kubeconfig.resolve() != kubeconfig.resolve():
        return {}
    return {workers.node_name(cluster, i): workers.worker_spec(cluster, i) for i in workers.present_indexes(cluster)}


def embedded_worker(kube: Kube, node: str) -> ClusterSpec:
    """The worker's spec; the activity fails for a node that is not one of the embedded cluster's workers."""
    found = embedded_workers(kube).get(node)
    if found is None:
        raise session.ActivityFailed(f"node/{node} is not a worker of this machine's embedded cluster: the harness "
                                     "hangs or kills only those (the control-plane node runs the API server; on "
                                     "AKS, stop a VM scale set instance instead)")
    return found
