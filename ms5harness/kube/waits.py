"""Bounded waits and in-pod commands, the building blocks of tests and experiments.

Every wait has a deadline and reports what it last saw, so a failure explains
itself instead of just timing out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from kubernetes import client
from kubernetes.stream import stream

from ms5harness.kube.client import Kube

T = TypeVar("T")

ROLLOUT_SECONDS = 120  # a small Deployment's rollout (probe pods, the chaos-restored components)
POD_START_SECONDS = 90  # a probe pod on a warm node; its image is already imported
EXEC_SECONDS = 30  # a command in a pod: probes are short, a hung exec must not hold a test
EXEC_READ_SECONDS = 1  # one read of the exec stream, so the deadline is checked every second
EXEC_OVERHEAD_SECONDS = 20  # beyond a probe command's own bound: opening the exec stream through the API server


class WaitTimeout(AssertionError):
    """A condition never held; the message says what was last observed."""


def node_ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def takes_pods(node: client.V1Node) -> bool:
    """Ready and not cordoned: the scheduler may put pods there."""
    return node_ready(node) and not node.spec.unschedulable


def poll(what: str, probe: Callable[[], T], done: Callable[[T], bool], timeout: float, interval: float = 1.0,
         summary: Callable[[T], str] = str) -> T:
    deadline = time.monotonic() + timeout
    last: object = "nothing observed"
    while True:
        try:
            value = probe()
            if done(value):
                return value
            last = summary(value)
        except WaitTimeout:
            raise
        except client.ApiException as err:
            last = f"API error {err.status} {err.reason}"
        except Exception as err:  # a probe that cannot connect yet is "not yet", not a failure
            last = f"{type(err).__name__}: {err}"
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{what}: not reached within {timeout:.0f}s; last seen: {str(last)[:500]}")
        time.sleep(interval)


def deployment_available(kube: Kube, namespace: str, name: str, timeout: float = ROLLOUT_SECONDS) -> client.V1Deployment:
    """Rolled out: observed the latest generation, all replicas updated and available."""

    def rolled_out(d: client.V1Deployment) -> bool:
        s, want = d.status, d.spec.replicas or 0
        return (
            (s.observed_generation or 0) >= d.metadata.generation
            and (s.updated_replicas or 0) == want
            and (s.available_replicas or 0) == want
            and (s.replicas or 0) == want
        )

    def summary(d: client.V1Deployment) -> str:
        s = d.status
        return (f"replicas={s.replicas} updated={s.updated_replicas} available={s.available_replicas} "
                f"conditions={[(c.type, c.status, c.message) for c in s.conditions or []]}")

    return poll(f"deployment {namespace}/{name} available",
                lambda: kube.apps.read_namespaced_deployment(name, namespace), rolled_out, timeout, summary=summary)


def pod_summary(p: client.V1Pod) -> str:
    """Phase plus each container's waiting/terminated reason: what `kubectl get pod` would show."""
    parts = [f"phase={p.status.phase}"]
    for c in p.status.container_statuses or []:
        state = c.state.waiting or c.state.terminated
        reason = f"{state.reason}: {state.message or ''}".strip(": ") if state else "running"
        parts.append(f"{c.name}[ready={c.ready} restarts={c.restart_count} {reason}]")
    return " ".join(parts)


def port_number(pod: client.V1Pod, port: int | str) -> int:
    """A port of the pod as a number: Service targetPorts and probes may name a container port."""
    if isinstance(port, int):
        return port
    for c in pod.spec.containers:
        for p in c.ports or []:
            if p.name == port:
                return p.container_port
    raise LookupError(f"pod {pod.metadata.name} has no container port named {port!r}")


def pod_running(kube: Kube, namespace: str, name: str, timeout: float = POD_START_SECONDS) -> client.V1Pod:
    def ready(p: client.V1Pod) -> bool:
        if p.status.phase in ("Failed", "Succeeded"):
            raise WaitTimeout(f"pod {namespace}/{name} ended with phase {p.status.phase}")
        statuses = p.status.container_statuses or []
        return p.status.phase == "Running" and bool(statuses) and all(c.ready for c in statuses)

    return poll(f"pod {namespace}/{name} running", lambda: kube.core.read_namespaced_pod(name, namespace), ready,
                timeout, summary=pod_summary)


@dataclass
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int


def exec_in_pod(kube: Kube, namespace: str, pod: str, command: list[str], container: str | None = None,
                timeout: float = EXEC_SECONDS) -> ExecResult:
    """Run a command in a pod through the API server (the same path as `kubectl exec`)."""
    kwargs = {"container": container} if container else {}
    resp = stream(kube.core.connect_get_namespaced_pod_exec, pod, namespace, command=command,
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False, **kwargs)
    out, err = [], []
    deadline = time.monotonic() + timeout
    while resp.is_open() and time.monotonic() < deadline:
        resp.update(timeout=EXEC_READ_SECONDS)
        if resp.peek_stdout():
            out.append(resp.read_stdout())
        if resp.peek_stderr():
            err.append(resp.read_stderr())
    if resp.is_open():
        resp.close()
        return ExecResult("".join(out), "".join(err) + f"\n(timed out after {timeout:.0f}s)", 124)
    out.append(resp.read_stdout() or "")  # what arrived with the close
    err.append(resp.read_stderr() or "")
    code = resp.returncode
    resp.close()
    return ExecResult("".join(out), "".join(err), 0 if code is None else int(code))
