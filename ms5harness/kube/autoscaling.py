"""How a HorizontalPodAutoscaler reacts, watched from outside: what the metrics API reported, when
the HPA decided, when each new pod was scheduled, ready and in its Service's endpoints.

`ScaleWatcher` polls every second in the background (the HPA, its Deployment's pods, the Service's
EndpointSlices and metrics.k8s.io) and keeps a `Timeline`; `scale_out` turns a timeline into the
breakdown of the first scale-out after a load step. Kubernetes stamps conditions and lastScaleTime
in whole seconds, so every phase is good to about a second.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

from kubernetes import client
from kubernetes.utils import parse_quantity

from ms5harness.kube.client import Kube

POLL_SECONDS = 1.0
REQUEST_SECONDS = 5  # one read of the API server or the metrics API
# The controller's default --horizontal-pod-autoscaler-tolerance: it scales only when usage/target
# is off by more than this, so a metric counts as "over target" from target x 1.1.
HPA_TOLERANCE = 0.1
DEFAULT_SCALE_DOWN_WINDOW_SECONDS = 300  # Kubernetes' scaleDown stabilizationWindowSeconds when none is set


@dataclass
class PodTimes:
    """One pod of the scaled Deployment: when it was created, scheduled, Ready and first served."""

    name: str
    created: float
    scheduled: float | None = None
    ready: float | None = None
    serving: float | None = None  # first poll that saw it ready in the Service's EndpointSlices


@dataclass
class Observation:
    """One poll: the HPA's replicas and the utilisation the metrics API reported (% of requests)."""

    at: float
    replicas: int
    desired: int
    utilisation: dict[str, float]


@dataclass
class Timeline:
    hpa: str
    min_replicas: int
    max_replicas: int
    targets: dict[str, float]  # resource -> target average utilisation (%), from the HPA's spec
    scale_down_window: float  # the HPA's scaleDown stabilizationWindowSeconds
    observations: list[Observation] = field(default_factory=list)
    pods: dict[str, PodTimes] = field(default_factory=dict)
    errors: int = 0  # polls that failed (the API server or the metrics API did not answer)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ScaleOut:
    """From a load step to a new replica ready and serving, by phase (seconds)."""

    step_at: float
    metric_lag: float  # step -> the metrics API shows utilisation over target (with the HPA's tolerance)
    decision: float  # -> the HPA raised its desired replicas
    scheduling: float  # -> the first new pod bound to a node
    readiness: float  # -> that pod Ready
    serving: float  # -> that pod in its Service's ready endpoints
    replicas_before: int
    replicas_after: int  # the most the HPA asked for during the step
    pod: str

    @property
    def total(self) -> float:
        return self.metric_lag + self.decision + self.scheduling + self.readiness + self.serving

    def as_dict(self) -> dict:
        return {**asdict(self), "total": round(self.total, 1)}


def scale_down_window(spec: client.V2HorizontalPodAutoscalerSpec) -> float:
    """How long the HPA holds its highest recent recommendation before it scales in."""
    down = spec.behavior.scale_down if spec.behavior else None
    seconds = down.stabilization_window_seconds if down else None
    return float(DEFAULT_SCALE_DOWN_WINDOW_SECONDS if seconds is None else seconds)


def _seconds(stamp) -> float | None:
    return stamp.timestamp() if stamp is not None else None


def _condition_time(pod: client.V1Pod, kind: str) -> float | None:
    for condition in (pod.status.conditions or []):
        if condition.type == kind and condition.status == "True":
            return _seconds(condition.last_transition_time)
    return None


def utilisation(pod_metrics: list[dict], requests: dict[str, dict[str, float]]) -> dict[str, float]:
    """Usage over requests of the pods the HPA counts (those with requests), per resource, in %:
    as the HPA's resource metric computes it (sum of usage / sum of requests)."""
    usage: dict[str, float] = {}
    requested: dict[str, float] = {}
    for item in pod_metrics:
        pod = item["metadata"]["name"]
        if pod not in requests:
            continue
        for container in item.get("containers", []):
            for resource, quantity in container.get("usage", {}).items():
                if resource in requests[pod]:
                    usage[resource] = usage.get(resource, 0.0) + float(parse_quantity(quantity))
        for resource, amount in requests[pod].items():
            requested[resource] = requested.get(resource, 0.0) + amount
    return {r: 100 * usage.get(r, 0.0) / requested[r] for r in requested if requested[r] > 0}


def scale_out(timeline: Timeline, step_at: float, step_end: float) -> ScaleOut | None:
    """The first scale-out the HPA decided in [step_at, step_end), by phase; None when it did not
    scale out then, or no new pod of it has served yet."""
    before = [o for o in timeline.observations if o.at <= step_at]
    during = [o for o in timeline.observations if step_at < o.at < step_end]
    if not before or not during:
        return None
    replicas_before = before[-1].replicas
    decided = next((o for o in during if o.desired > replicas_before), None)
    if decided is None:
        return None
    over = next((o for o in during if any(o.utilisation.get(r, 0.0) > t * (1 + HPA_TOLERANCE)
                                         for r, t in timeline.targets.items())), decided)
    new = sorted((p for p in timeline.pods.values()
                  if p.created >= decided.at - 2 * POLL_SECONDS and p.serving is not None), key=lambda p: p.serving)
    if not new:
        return None
    pod = new[0]
    metric_at = min(over.at, decided.at)
    # conditions are whole seconds: keep the phases in order where a stamp rounds below the poll before it
    scheduled = max(pod.scheduled or pod.created, decided.at)
    ready = max(pod.ready or scheduled, scheduled)
    serving = max(pod.serving, ready)
    return ScaleOut(step_at=step_at, metric_lag=round(metric_at - step_at, 1), decision=round(decided.at - metric_at, 1),
                    scheduling=round(scheduled - decided.at, 1), readiness=round(ready - scheduled, 1),
                    serving=round(serving - ready, 1), replicas_before=replicas_before,
                    replicas_after=max(o.desired for o in during), pod=pod.name)


class ScaleWatcher:
    """Polls an HPA, its Deployment's pods, its Service's EndpointSlices and the metrics API every
    second in the background until stopped (a context manager: never outlives its block)."""

    def __init__(self, kube: Kube, namespace: str, hpa: str, service: str):
        self.kube, self.namespace, self.service = kube, namespace, service
        spec = kube.autoscaling.read_namespaced_horizontal_pod_autoscaler(hpa, namespace).spec
        self.deployment = spec.scale_target_ref.name
        selector = kube.apps.read_namespaced_deployment(self.deployment, namespace).spec.selector.match_labels
        self.selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        self.timeline = Timeline(
            hpa=hpa, min_replicas=spec.min_replicas or 1, max_replicas=spec.max_replicas,
            targets={m.resource.name: float(m.resource.target.average_utilization) for m in spec.metrics or []
                     if m.type == "Resource" and m.resource.target.average_utilization is not None},
            scale_down_window=scale_down_window(spec))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"scale-watcher-{hpa}", daemon=True)

    def __enter__(self) -> ScaleWatcher:
        self.poll()
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=POLL_SECONDS + 3 * REQUEST_SECONDS)

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 (one failed poll is a gap in the timeline, counted, not the end of it)
                self.timeline.errors += 1

    def poll(self) -> None:
        now = time.time()
        hpa = self.kube.autoscaling.read_namespaced_horizontal_pod_autoscaler(
            self.timeline.hpa, self.namespace, _request_timeout=REQUEST_SECONDS).status
        pods = self.kube.core.list_namespaced_pod(self.namespace, label_selector=self.selector,
                                                  _request_timeout=REQUEST_SECONDS).items
        requests = {}
        for pod in pods:
            times = self.timeline.pods.setdefault(pod.metadata.name, PodTimes(
                pod.metadata.name, _seconds(pod.metadata.creation_timestamp)))
            times.scheduled = times.scheduled or _condition_time(pod, "PodScheduled")
            times.ready = times.ready or _condition_time(pod, "Ready")
            if times.ready and pod.metadata.deletion_timestamp is None:
                requests[pod.metadata.name] = {
                    resource: float(parse_quantity(amount)) for c in pod.spec.containers
                    for resource, amount in ((c.resources.requests or {}) if c.resources else {}).items()}
        slices = self.kube.discovery.list_namespaced_endpoint_slice(
            self.namespace, label_selector=f"kubernetes.io/service-name={self.service}",
            _request_timeout=REQUEST_SECONDS).items
        for endpoint in (e for s in slices for e in (s.endpoints or [])):
            times = self.timeline.pods.get(endpoint.target_ref.name if endpoint.target_ref else "")
            if times and times.serving is None and endpoint.conditions and endpoint.conditions.ready:
                times.serving = now
        metrics = self.kube.custom.list_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", self.namespace, "pods", label_selector=self.selector,
            _request_timeout=REQUEST_SECONDS)["items"]
        self.timeline.observations.append(Observation(
            now, hpa.current_replicas or 0, hpa.desired_replicas or 0, utilisation(metrics, requests)))
