"""Evidence bundle for a failure: pod logs, events and `describe` of the workloads involved, and
what Prometheus recorded of the service levels in the minutes before."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kubernetes import client

from ms5harness import slo, tools
from ms5harness.kube.client import Kube

DESCRIBE_SECONDS = 60  # describe of a whole namespace; evidence must not hold up the failing test long
LOG_SECONDS = 10  # per container log read


def collect(kube: Kube, namespace: str, out_dir: Path, label_selector: str = "") -> Path:
    """Write events.txt, describe.txt and logs/<pod>_<container>.log under out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    events = sorted(kube.core.list_namespaced_event(namespace).items,
                    key=lambda e: str(e.last_timestamp or e.event_time or e.metadata.creation_timestamp))
    (out_dir / "events.txt").write_text("\n".join(
        f"{e.last_timestamp or e.event_time} {e.type} {e.involved_object.kind}/{e.involved_object.name} "
        f"{e.reason}: {e.message}" for e in events))
    describe = tools.run("kubectl", kube.kubeconfig, "-n", namespace, "describe", "deployments,statefulsets,jobs,pods",
                         *(["-l", label_selector] if label_selector else []), check=False, seconds=DESCRIBE_SECONDS)
    (out_dir / "describe.txt").write_text(describe.stdout + describe.stderr)
    logs = out_dir / "logs"
    logs.mkdir(exist_ok=True)
    for pod in kube.core.list_namespaced_pod(namespace, label_selector=label_selector).items:
        for c in pod.spec.containers:
            try:
                text = kube.core.read_namespaced_pod_log(pod.metadata.name, namespace, container=c.name,
                                                         tail_lines=500, _request_timeout=LOG_SECONDS)
            except client.ApiException as err:
                text = f"(no log: {err.status} {err.reason})"
            (logs / f"{pod.metadata.name}_{c.name}.log").write_text(text)
    return out_dir


def prometheus_window(prometheus_url: str, out_dir: Path, seconds: int = 900) -> Path:
    """prometheus.json: every SLI and the scrape targets up, every 15 s of the last `seconds`."""
    path = out_dir / "prometheus.json"
    path.write_text(json.dumps(slo.history(prometheus_url, time.time(), seconds), indent=1))
    return path
