"""`cluster up | down | status | logs` for the embedded single-node cluster.

Start order follows the dependencies: containerd (and the images the node
needs) -> etcd -> apiserver -> controller-manager, scheduler -> kubelet ->
kube-proxy -> kube-router -> CoreDNS, metrics-server. Any step that does not
become healthy in time tears the half-started cluster down and raises one line
naming the component, its last log line and where the full log is.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import httpx
import yaml

from ms5harness import tools
from ms5harness.cluster import addons, build, configs, network, pki, preflight
from ms5harness.cluster.node_images import CLUSTER_IMAGES
from ms5harness.cluster.processes import Process, is_alive, running_pid, start, stop, tail, wait_until
from ms5harness.cluster.spec import ClusterSpec, local_spec
from ms5harness.errors import HarnessError
from ms5harness.images import builder, loader

Echo = Callable[[str], None]

START_SECONDS = 45.0  # a host component from exec to healthy; they take 1-10 s on the 2-core machine
APISERVER_START_SECONDS = 90  # the apiserver runs its post-start hooks (RBAC bootstrap, CRDs) first
HEALTH_CHECK_SECONDS = 2.0  # one /healthz request to a local component
NODE_READY_SECONDS = 90  # kubelet registered and its CNI config in place
ADDONS_SECONDS = 120  # CoreDNS and metrics-server rolled out (images imported, not pulled)
POD_KILL_SECONDS = 3  # SIGKILLed pod processes gone before the next sweep


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
              lambda s: _http_ok("http://127.0.0.1:10248/healthz"), (10248, 10250)),
    Component("kube-proxy", "kube-proxy", configs.kube_proxy_args,
              lambda s: _http_ok("http://127.0.0.1:10256/healthz"), (10249, 10256)),
    Component("kube-router", "kube-router", configs.kube_router_args,
              lambda s: _http_ok("http://127.0.0.1:20244/healthz"), (20244,)),
)
NAMES = tuple(c.name for c in COMPONENTS)
ADDON_DEPLOYMENTS = ("coredns", "metrics-server")
KUBECONFIG_USERS = {
    "admin": "admin", "controller-manager": "controller-manager", "scheduler": "scheduler",
    "kubelet": "kubelet-client", "kube-proxy": "kube-proxy", "kube-router": "kube-router",
}


class EmbeddedCluster:
    def __init__(self, spec: ClusterSpec | None = None, echo: Echo = print):
        self.spec = spec or local_spec()
        self.echo = echo

    # -- helpers ------------------------------------------------------------
    def process(self, comp: Component) -> Process:
        binary = comp.binary if comp.binary.startswith("/") else str(tools.binary(comp.binary))
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        return Process(comp.name, [binary, *comp.args(self.spec)], self.spec.pid_dir, self.spec.log_dir, env)

    def pid_of(self, name: str) -> int | None:
        return running_pid(Process(name, [], self.spec.pid_dir, self.spec.log_dir))

    @property
    def kubeconfig(self) -> Path:
        return self.spec.admin_kubeconfig

    # -- up -----------------------------------------------------------------
    def up(self) -> Path:
        """Bring the node up (a no-op for parts already healthy); returns the kubeconfig path."""
        spec = self.spec
        started = time.monotonic()
        preflight.check_host()
        running = {c.name for c in COMPONENTS if self.pid_of(c.name)}
        preflight.check_ports([p for c in COMPONENTS if c.name not in running for p in c.ports])
        missing = [c for c in build.COMPONENTS if c.node and not build.is_built(c)]
        if missing:
            self.echo(f"building {', '.join(c.name for c in missing)} (first run on this machine)")
        build.build_all(echo=self.echo, components=tuple(missing))  # also records caches built before tools.json
        try:
            self._prepare_files()
            network.apply_sysctls(spec)
            network.install_egress_guard(spec)
            network.share_netns_dir()
            archives = {img.ref: builder.build(img, echo=self.echo) for img in CLUSTER_IMAGES}
            for comp in COMPONENTS:
                self._start(comp)
                if comp.name == "containerd":
                    for ref, archive in archives.items():
                        loader.load(spec.containerd_socket, ref, archive)
                if comp.name == "kube-apiserver":
                    self._apply(addons.kube_router_rbac())
            self._wait_node_ready()
            self._apply(addons.coredns(spec) + addons.metrics_server(spec))
            self._wait_addons()
        except BaseException:
            if running:  # never destroy a cluster (and its workloads) this call did not start
                self.echo("cluster is not healthy; it was already running, so it is left as it is")
            else:
                self.echo("cluster did not come up; tearing down what was started")
                self.down(quiet=True)
            raise
        self.echo(f"cluster ready in {time.monotonic() - started:.1f}s")
        self.echo(f"kubeconfig: {spec.admin_kubeconfig}")
        return spec.admin_kubeconfig

    def _prepare_files(self) -> None:
        spec = self.spec
        for d in (spec.state, spec.config_dir, spec.log_dir, spec.pid_dir, spec.kubelet_root):
            d.mkdir(parents=True, exist_ok=True)
        spec.state.chmod(0o700)
        pki.generate(spec.pki, spec.node_name, spec.node_ip, spec.api_service_ip)
        ca = (spec.pki / "ca.crt").read_bytes()
        for config_name, cert in KUBECONFIG_USERS.items():
            path = spec.admin_kubeconfig if config_name == "admin" else spec.config_dir / f"{config_name}.kubeconfig"
            text = configs.kubeconfig(spec, config_name, ca, (spec.pki / f"{cert}.crt").read_bytes(),
                                      (spec.pki / f"{cert}.key").read_bytes())
            configs.write_if_changed(path, text, mode=0o600)
        configs.write_all(spec)

    def _start(self, comp: Component) -> None:
        if self.pid_of(comp.name) and _safe(comp.health, self.spec):
            return
        proc = self.process(comp)
        pid = start(proc)
        t0 = time.monotonic()
        healthy = wait_until(lambda: _raise_if_dead(pid, comp, proc) or comp.health(self.spec), comp.timeout, 0.25)
        if not healthy:
            last = tail(proc.log_file, 1) or "no output"
            raise HarnessError(
                f"{comp.name} did not become healthy within {comp.timeout:.0f}s; last log line: {last[:300]}",
                f"see `ms5harness cluster logs {comp.name}` ({proc.log_file})",
            )
        self.echo(f"  {comp.name:<24} healthy after {time.monotonic() - t0:.1f}s (pid {pid})")

    def _apply(self, objects: list[dict]) -> None:
        text = yaml.safe_dump_all(objects, sort_keys=False)
        tools.run("kubectl", self.kubeconfig, "apply", "--server-side", "--force-conflicts",
                  "--field-manager=ms5harness", "-f", "-", stdin=text, seconds=tools.KUBECTL_SECONDS)

    def _wait_node_ready(self, timeout: float = NODE_READY_SECONDS) -> None:
        t0 = time.monotonic()

        def ready() -> bool:
            out = tools.run("kubectl", self.kubeconfig, "get", "node", self.spec.node_name, "-o", "json",
                            check=False, seconds=tools.KUBECTL_SECONDS)
            if out.returncode != 0:
                return False
            conds = json.loads(out.stdout)["status"].get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

        if not wait_until(ready, timeout, 0.5):
            raise HarnessError(f"node {self.spec.node_name} did not become Ready within {timeout:.0f}s",
                               "see `ms5harness cluster logs kubelet`")
        self.echo(f"  node {self.spec.node_name:<19} Ready after {time.monotonic() - t0:.1f}s")

    def _wait_addons(self, timeout: float = ADDONS_SECONDS) -> None:
        t0 = time.monotonic()
        for name in ADDON_DEPLOYMENTS:
            proc = tools.run("kubectl", self.kubeconfig, "-n", "kube-system", "rollout", "status",
                             f"deployment/{name}", f"--timeout={int(timeout)}s", check=False,
                             seconds=timeout + tools.EXIT_GRACE_SECONDS)
            if proc.returncode != 0:
                events = tools.run("kubectl", self.kubeconfig, "-n", "kube-system", "get", "events",
                                   "--sort-by=.lastTimestamp", "-o",
                                   "custom-columns=OBJ:.involvedObject.name,MSG:.message", check=False,
                                   seconds=tools.KUBECTL_SECONDS)
                last = [l for l in events.stdout.splitlines() if name in l][-1:] or ["no events"]
                raise HarnessError(f"add-on {name} did not become available: {last[0].strip()}",
                                   "see `kubectl -n kube-system describe deployment " + name + "`")
        self.echo(f"  add-ons {'/'.join(ADDON_DEPLOYMENTS):<16} available after {time.monotonic() - t0:.1f}s")

    # -- down ---------------------------------------------------------------
    def down(self, quiet: bool = False) -> None:
        """Stop everything `up` started and remove what it created; a no-op when nothing is there."""
        spec = self.spec
        say = (lambda _msg: None) if quiet else self.echo
        t0 = time.monotonic()
        for name in ("kube-router", "kube-proxy", "kubelet"):
            stop(Process(name, [], spec.pid_dir, spec.log_dir))
        kill_pod_processes()
        stop(Process("containerd", [], spec.pid_dir, spec.log_dir))
        kill_shims(spec.containerd_socket)
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            stop(Process(name, [], spec.pid_dir, spec.log_dir))
        network.remove_pod_netns(spec)
        network.remove_hidden_netns()
        unmount_under((spec.state, spec.run))
        network.remove_bridge(spec)
        network.remove_owned_chains()
        network.remove_owned_ipsets()
        remove_pod_cgroups()
        network.restore_sysctls(spec)
        leftovers = mounts_under((spec.state, spec.run))
        if leftovers:
            raise HarnessError(f"{len(leftovers)} mounts remain under {spec.state}, e.g. {leftovers[0]}",
                               "unmount them by hand, then run `cluster down` again")
        for d in (spec.state, spec.run):
            shutil.rmtree(d, ignore_errors=True)
        say(f"cluster down in {time.monotonic() - t0:.1f}s")

    # -- status / logs ------------------------------------------------------
    def status(self) -> list[dict]:
        rows = []
        for comp in COMPONENTS:
            pid = self.pid_of(comp.name)
            healthy = bool(pid) and _safe(comp.health, self.spec)
            rows.append({"component": comp.name, "pid": pid or "-",
                         "state": "healthy" if healthy else ("unhealthy" if pid else "stopped")})
        api_up = rows[2]["state"] == "healthy"
        for name in ADDON_DEPLOYMENTS:
            state = "stopped"
            if api_up:
                out = tools.run("kubectl", self.kubeconfig, "-n", "kube-system", "get", "deployment", name, "-o",
                                "jsonpath={.status.availableReplicas}", check=False, seconds=tools.KUBECTL_SECONDS)
                state = "available" if out.returncode == 0 and out.stdout.strip() not in ("", "0") else "unavailable"
            rows.append({"component": name, "pid": "pod", "state": state})
        return rows

    def log_file(self, name: str) -> Path:
        if name not in NAMES:
            raise HarnessError(f"unknown component {name!r}", f"choose one of {', '.join(NAMES)}")
        path = self.spec.log_dir / f"{name}.log"
        if not path.exists():
            raise HarnessError(f"{name} has no log at {path}", "the cluster was never started, or was taken down")
        return path


def _safe(check: Callable[[ClusterSpec], bool], spec: ClusterSpec) -> bool:
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


def pod_cgroup_dirs() -> list[Path]:
    """Every kubepods cgroup in every v1 controller (and the unified tree), deepest first."""
    found: list[Path] = []
    for root in Path("/sys/fs/cgroup").iterdir():
        top = root / "kubepods"
        # os.walk ignores directories that vanish mid-scan (pods being torn down); rglob raises.
        for dirpath, _dirs, _files in os.walk(top):
            found.append(Path(dirpath))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def kill_pod_processes() -> None:
    for _ in range(3):
        pids = set()
        for cg in pod_cgroup_dirs():
            try:
                pids |= {int(p) for p in (cg / "cgroup.procs").read_text().split()}
            except (FileNotFoundError, ValueError, OSError):
                continue
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not any(is_alive(p) for p in pids), POD_KILL_SECONDS, 0.05)


def kill_shims(socket: Path) -> None:
    needle = str(socket).encode()
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline and needle in cmdline:
            try:
                os.kill(int(proc_dir.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def remove_pod_cgroups() -> None:
    for cg in pod_cgroup_dirs():
        try:
            cg.rmdir()
        except OSError:
            pass


def mounts_under(roots: tuple[Path, ...]) -> list[str]:
    prefixes = tuple(str(r) + "/" for r in roots) + tuple(str(r) for r in roots)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefixes):
            points.append(point)
    return points


def unmount_under(roots: tuple[Path, ...]) -> None:
    for point in sorted(set(mounts_under(roots)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
