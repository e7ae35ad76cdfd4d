"""The host processes of a node and of the control plane: how each starts and when it is healthy.

The control-plane node runs all of them in the host's namespaces; a worker node
(cluster/workers.py) runs the node's four inside its own network namespace and cgroup subtree.
"""

from __future__ import annotations

import os
import ssl
import time
from dataclasses import dataclass
from typing import Callable

import httpx

from ms5harness import tools
from ms5harness.cluster import configs
from ms5harness.cluster.processes import Process, is_alive, running_pid, start, tail, wait_until
from ms5harness.cluster.spec import ClusterSpec
from ms5harness.errors import HarnessError
from ms5harness.images import loader

Echo = Callable[[str], None]

START_SECONDS = 45.0  # a host component from exec to healthy; they take 1-10 s on the 2-core machine
APISERVER_START_SECONDS = 90  # the apiserver runs its post-start hooks (RBAC bootstrap, CRDs) first
HEALTH_CHECK_SECONDS = 2.0  # one /healthz request to a local component
# A component already running but not answering is waited for, not restarted: a worker's kubelet went
# 45-80 s without answering its /healthz once CI removed another worker (its TokenReviews timed out too).
UNANSWERED_SECONDS = 120.0


@dataclass(frozen=True)
class Component:
    name: str
    binary: str
    args: Callable[[ClusterSpec], list[str]]
    health: Callable[[ClusterSpec], bool]
    ports: tuple[int, ...]
    timeout: float = START_SECONDS


def _http_ok(url: str, spec: ClusterSpec | None = None, client_cert: bool = False) -> bool:
    if url.startswith("https"):
        if client_cert and spec is not None:
            verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(spec.pki / "ca.crt"))
            verify.load_cert_chain(str(spec.pki / "admin.crt"), str(spec.pki / "admin.key"))
        else:
            verify = False
    else:
        verify = True
    return httpx.get(url, verify=verify, timeout=HEALTH_CHECK_SECONDS).status_code == 200


def _containerd_healthy(spec: ClusterSpec) -> bool:
    return spec.containerd_socket.exists() and loader.ctr(spec.containerd_socket, "version").returncode == 0


COMPONENTS: tuple[Component, ...] = (
    Component("containerd", "/usr/bin/containerd",
              lambda s: ["--config", str(s.config_dir / "containerd.toml")], _containerd_healthy, ()),
    Component("etcd", "etcd", configs.etcd_args,
              lambda s: _http_ok("http://127.0.0.1:2379/health"), (2379, 2380, 2381)),
    Component("kube-apiserver", "kube-apiserver", configs.apiserver_args,
              lambda s: _http_ok(f"{s.server_url}/readyz", s, client_cert=True), (6443,), APISERVER_START_SECONDS),
    Component("kube-controller-manager", "kube-controller-manager", configs.controller_manager_args,
              lambda s: _http_ok("https://127.0.0.1:10257/healthz"), (10257,)),
    Component("kube-scheduler", "kube-scheduler", configs.scheduler_args,
              lambda s: _http_ok("https://127.0.0.1:10259/healthz"), (10259,)),
    Component("kubelet", "kubelet", configs.kubelet_args,
              lambda s: _http_ok(f"http://{s.local_address}:10248/healthz"), (10248, 10250)),
    Component("kube-proxy", "kube-proxy", configs.kube_proxy_args,
              lambda s: _http_ok(f"http://{s.local_address}:10256/healthz"), (10249, 10256)),
    Component("kube-router", "kube-router", configs.kube_router_args,
              lambda s: _http_ok(f"http://{s.local_address}:20244/healthz"), (20244,)),
)
NAMES = tuple(c.name for c in COMPONENTS)
NODE_COMPONENTS = tuple(c for c in COMPONENTS if c.name in ("containerd", "kubelet", "kube-proxy", "kube-router"))


def process(spec: ClusterSpec, comp: Component) -> Process:
    binary = comp.binary if comp.binary.startswith("/") else str(tools.binary(comp.binary))
    argv = [binary, *comp.args(spec)]
    if spec.netns:  # nsenter joins the network namespace only: the mounts stay the host's, shared with the kubelet
        argv = ["nsenter", f"--net=/run/netns/{spec.netns}", "--", *argv]
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    return Process(comp.name, argv, spec.pid_dir, spec.log_dir, env, cgroup=spec.cgroup_root)


def pid_of(spec: ClusterSpec, name: str) -> int | None:
    return running_pid(Process(name, [], spec.pid_dir, spec.log_dir))


def start_component(spec: ClusterSpec, comp: Component, echo: Echo, label: str = "") -> None:
    """Start comp unless it already runs healthy; raise one line naming it and its last log line."""
    running = pid_of(spec, comp.name)
    if running and safe(comp.health, spec):
        return
    proc = process(spec, comp)
    if running:
        t0 = time.monotonic()
        if not wait_until(lambda: safe(comp.health, spec), UNANSWERED_SECONDS, 1.0):
            last = tail(proc.log_file, 1) or "no output"
            raise HarnessError(f"{label}{comp.name} runs (pid {running}) but has not answered its health check for "
                               f"{UNANSWERED_SECONDS:.0f}s; last log line: {last[:300]}",
                               f"see `ms5harness cluster logs {comp.name}` ({proc.log_file})")
        echo(f"  {label}{comp.name:<24} running (pid {running}), answered again after {time.monotonic() - t0:.1f}s")
        return
    pid = start(proc)
    t0 = time.monotonic()
    healthy = wait_until(lambda: _raise_if_dead(pid, comp, proc) or comp.health(spec), comp.timeout, 0.25)
    if not healthy:
        last = tail(proc.log_file, 1) or "no output"
        raise HarnessError(
            f"{label}{comp.name} did not become healthy within {comp.timeout:.0f}s; last log line: {last[:300]}",
            f"see `ms5harness cluster logs {comp.name}` ({proc.log_file})",
        )
    echo(f"  {label}{comp.name:<24} healthy after {time.monotonic() - t0:.1f}s (pid {pid})")


def safe(check: Callable[[ClusterSpec], bool], spec: ClusterSpec) -> bool:
    try:
        return bool(check(spec))
    except Exception:
        return False


def _raise_if_dead(pid: int, comp: Component, proc: Process) -> bool:
    if not is_alive(pid):
        last = tail(proc.log_file, 1) or "no output"
        raise HarnessError(f"{comp.name} exited during start-up: {last[:300]}",
                           f"see `ms5harness cluster logs {comp.name}` ({proc.log_file})")
    return False
