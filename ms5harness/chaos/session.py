"""How an activity finds its cluster: the same rules as the rest of the harness, without
ever starting a cluster from inside an experiment."""

from __future__ import annotations

import os
from pathlib import Path

from ms5harness import chart, paths
from ms5harness.errors import HarnessError
from ms5harness.kube.client import Kube, connect

DEFAULT_NAMESPACE = "ms5"


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


def component_selector(component: str) -> str:
    return f"app.kubernetes.io/component={component},app.kubernetes.io/instance={chart.RELEASE}"


def object_name(component: str) -> str:
    """The chart names every object after its release and component: ms5-<component>."""
    return f"{chart.RELEASE}-{component}"


class ActivityFailed(HarnessError):
    """An action could not do what the experiment asked (Chaos Toolkit records it as failed)."""
