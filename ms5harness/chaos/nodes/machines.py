"""Which nodes the harness may hang or kill: only workers of the embedded cluster it runs on this
machine. On any other cluster a node is somebody's VM: the harness drains it, never kills it."""

from __future__ import annotations

import time

from ms5harness.chaos import session
from ms5harness.cluster import workers
from ms5harness.cluster.embedded import EmbeddedCluster
from ms5harness.cluster.spec import ClusterSpec, local_spec
from ms5harness.kube.client import Kube
from ms5harness.kube.waits import WaitTimeout, node_ready, poll

REJOIN_SECONDS = 300  # a replacement worker: state made afresh, every image imported (~90 s), Ready


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


def replace_worker(kube: Kube, node: str, timeout: float = REJOIN_SECONDS) -> float:
    """A new VM in an evicted worker's place, as the scale set adds one: the old Node object and every
    trace of the worker removed, then it joins afresh under the same name (new state, images imported)
    and reports Ready. Returns the seconds it took."""
    embedded_worker(kube, node)
    cluster = EmbeddedCluster(local_spec(), echo=lambda _msg: None)
    index = next(i for i in workers.present_indexes(cluster.spec) if workers.node_name(cluster.spec, i) == node)
    worker, started = cluster.worker(index), time.monotonic()
    if kube.core.list_node(field_selector=f"metadata.name={node}").items:
        kube.core.delete_node(node)
    worker.down()
    worker.up(cluster.images())
    try:
        poll(f"the replacement node/{node} Ready", lambda: kube.core.list_node(field_selector=f"metadata.name={node}").items,
             lambda found: bool(found) and node_ready(found[0]), timeout=max(1.0, started + timeout - time.monotonic()),
             interval=1, summary=lambda found: "not registered" if not found else
             f"conditions {[(c.type, c.status) for c in found[0].status.conditions or []]}")
    except WaitTimeout as err:
        raise session.ActivityFailed(str(err)) from None
    return round(time.monotonic() - started, 1)
