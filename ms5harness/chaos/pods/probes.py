"""Pod probes: which pods of a component run and are ready."""

from __future__ import annotations

from ms5harness import names
from ms5harness.chaos import session
from ms5harness.kube.waits import WaitTimeout, exec_in_pod, poll

__all__ = ["pods_ready", "container_kills"]


def is_ready(pod) -> bool:
    """Running, not being deleted, and every container ready (a pod without container statuses is not)."""
    statuses = pod.status.container_statuses or []
    return pod.metadata.deletion_timestamp is None and pod.status.phase == "Running" \
        and bool(statuses) and all(c.ready for c in statuses)


def ready_pods(kube, namespace: str, component: str, label_selector: str = "") -> list[str]:
    selector = ",".join(filter(None, [names.component_selector(component), label_selector]))
    return sorted(p.metadata.name for p in kube.core.list_namespaced_pod(namespace, label_selector=selector).items
                  if is_ready(p))


def pods_ready(component: str, count: int = 1, label_selector: str = "", timeout: float = 0,
               configuration: dict | None = None, secrets: dict | None = None) -> bool:
    """At least `count` ready pods of the component, waiting up to `timeout` seconds for them."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    try:
        poll(f"{count} ready {component} pod(s)", lambda: ready_pods(kube, namespace, component, label_selector),
             lambda names: len(names) >= count, timeout=timeout, interval=2)
    except WaitTimeout:
        return False
    return True


def container_kills(name: str, reason: str = "OOMKilled", at_least: int = 1, timeout: float = 0,
                    configuration: dict | None = None, secrets: dict | None = None) -> dict:
    """The pod's container was killed for `reason` and restarted at least `at_least` times (waiting up
    to `timeout` s): its restart count and last termination, for the journal. Raises otherwise."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)

    def seen() -> dict:
        status = (kube.core.read_namespaced_pod(name, namespace).status.container_statuses or [None])[0]
        last = status and status.last_state and status.last_state.terminated
        return {"restarts": status.restart_count if status else 0, "last_reason": last.reason if last else None,
                "last_exit_code": last.exit_code if last else None}

    try:
        return poll(f"pod {name} killed ({reason}) and restarted {at_least} time(s)", seen,
                    lambda s: s["restarts"] >= at_least and s["last_reason"] == reason, timeout=timeout, interval=2)
    except WaitTimeout as err:
        raise session.ActivityFailed(str(err)) from None


def last_line_of(kube, namespace: str, pod: str, command: list[str], timeout: float) -> str:
    """Run a command in the pod and return the last line it printed; a command that fails fails the activity."""
    result = exec_in_pod(kube, namespace, pod, command, timeout=timeout)
    if result.exit_code != 0:
        raise session.ActivityFailed(f"{' '.join(command[:2])} in {pod} failed: {result.stderr.strip()[-300:]}")
    return (result.stdout.strip().splitlines() or [""])[-1]
