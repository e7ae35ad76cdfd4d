"""HorizontalPodAutoscaler probes: at rest, scaled out under the floor's stepped load, scaled in after it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from ms5harness.chaos import session
from ms5harness.chaos.api.probes import api_url
from ms5harness.kube.autoscaling import scale_down_window
from ms5harness.kube.waits import WaitTimeout, poll
from ms5harness.paths import reports_dir
from ms5harness.tools import last_line

__all__ = ["seconds_until_at_rest", "scale_out_under_stepped_load", "seconds_until_scaled_in"]

DEFAULT_PROFILE = "local"  # the chart profile whose objectives judge the load (configuration "profile")
LOAD_OVERHEAD_SECONDS = 180  # beyond the steps: Locust's start and exit, Prometheus' settle, the judging
SCALE_IN_LAG_SECONDS = 60  # beyond the HPA's stabilization window: the metric's lag, a sync, the pods' exit


def _replicas(name: str, configuration: dict | None) -> tuple[int, int, int]:
    """(current, desired, minimum) replicas of the HPA."""
    hpa = session.kube(configuration).autoscaling.read_namespaced_horizontal_pod_autoscaler(
        name, session.namespace(configuration))
    return hpa.status.current_replicas or 0, hpa.status.desired_replicas or 0, hpa.spec.min_replicas or 1


def _wait_for_minimum(name: str, timeout: float, configuration: dict | None, what: str) -> float:
    started = time.monotonic()
    try:
        poll(f"horizontalpodautoscaler/{name} {what}", lambda: _replicas(name, configuration),
             lambda r: r[0] == r[1] == r[2], timeout,
             summary=lambda r: f"{r[0]} replicas, {r[1]} desired, minimum {r[2]}")
    except WaitTimeout as err:
        raise session.ActivityFailed(str(err)) from None
    return round(time.monotonic() - started, 1)


def seconds_until_at_rest(name: str, timeout: float = 60, configuration: dict | None = None,
                          secrets: dict | None = None) -> float:
    """Seconds until the HPA holds its minimum and wants no more (after an earlier load, or once a reset
    HPA has synced): the load starts from rest."""
    return _wait_for_minimum(name, timeout, configuration, "at rest")


def scale_out_under_stepped_load(steps: str, step_seconds: float, configuration: dict | None = None,
                                 secrets: dict | None = None) -> dict:
    """The floor's load in steps through the entry point: every step judged, the capacity, and the backend
    HPA's scale-out by phase, as `ms5harness load --steps` measures them (run as that command: chaos
    stays below the load layer). Its verdict (steps.json, minus the poll-by-poll timeline) is the output;
    fails naming what was not met."""
    kube = session.kube(configuration)
    out = reports_dir() / time.strftime("autoscaling-%Y%m%dT%H%M%SZ", time.gmtime())
    bound = len(str(steps).split(",")) * float(step_seconds) + LOAD_OVERHEAD_SECONDS
    cmd = [sys.executable, "-m", "ms5harness", "load", "--kubeconfig", str(kube.kubeconfig),
           "--namespace", session.namespace(configuration),
           "--profile", (configuration or {}).get("profile") or DEFAULT_PROFILE, "--steps", str(steps),
           "--step-seconds", str(step_seconds), "--entry-url", api_url(configuration), "--out", str(out)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=bound)
    except subprocess.TimeoutExpired:
        raise session.ActivityFailed(f"`ms5harness load --steps {steps}` outlived {bound:.0f} s; see {out}") from None
    verdict = out / "steps.json"
    if not verdict.exists():
        raise session.ActivityFailed(f"`ms5harness load --steps {steps}` exited {done.returncode} without a verdict: "
                                     f"{last_line(done.stdout + done.stderr)}")
    result = json.loads(verdict.read_text())
    if not result["passed"]:
        raise session.ActivityFailed("; ".join(result["problems"]) + f" (details: {verdict})")
    result.pop("timeline")
    return {**result, "details": str(verdict)}


def seconds_until_scaled_in(name: str, configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """Seconds until the HPA is back at its minimum once the load ended, bounded by its own scale-down
    stabilization window plus the metric's lag."""
    window = scale_down_window(session.kube(configuration).autoscaling.read_namespaced_horizontal_pod_autoscaler(
        name, session.namespace(configuration)).spec)
    return {"seconds": _wait_for_minimum(name, window + SCALE_IN_LAG_SECONDS, configuration, "scaled in"),
            "stabilization_window": window, "bound": window + SCALE_IN_LAG_SECONDS}
