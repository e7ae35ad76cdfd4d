"""How an activity finds its cluster: the same rules as the rest of the harness, without
ever starting a cluster from inside an experiment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from chaoslib.exceptions import ActivityFailed as ChaosActivityFailed

from ms5harness import paths
from ms5harness.errors import HarnessError
from ms5harness.kube.client import Kube, connect
from ms5harness.kube.portforward import Forward
from ms5harness.names import DEFAULT_NAMESPACE


def kube(configuration: dict | None = None) -> Kube:
    """configuration["kubeconfig"], else $MS5H_KUBECONFIG, else the running embedded cluster."""
    chosen = (configuration or {}).get("kubeconfig") or os.environ.get("MS5H_KUBECONFIG")
    path = Path(chosen).expanduser() if chosen else paths.state_dir() / "kubeconfig"  # where the embedded cluster writes it
    if not chosen and not path.exists():
        raise HarnessError("no kubeconfig for the experiment and the embedded cluster is not running",
                           "run `ms5harness cluster up && ms5harness deploy`, or set MS5H_KUBECONFIG")
    return connect(path)


def namespace(configuration: dict | None = None) -> str:
    return (configuration or {}).get("namespace") or DEFAULT_NAMESPACE


class ActivityFailed(HarnessError, ChaosActivityFailed):
    """An activity could not do what the experiment asked: Chaos Toolkit's own ActivityFailed (it
    records the activity as failed), worded as the harness's one line."""


@contextmanager
def http_to_pod(kube: Kube, namespace: str, pod: str, port: int, timeout: float) -> Iterator[httpx.Client]:
    """An HTTP client of a pod's port through a port-forward (the API server's, as `kubectl port-forward`):
    ClusterIP-only services such as the fault proxy's API and Prometheus on AKS need nothing else."""
    forward = Forward(kube, namespace, pod, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{forward.local_port}", timeout=timeout) as client:
            yield client
    finally:
        forward.close()
