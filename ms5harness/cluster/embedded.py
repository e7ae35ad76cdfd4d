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
import time
from collections.abc import Collection
from pathlib import Path

import yaml

from ms5harness import tools
from ms5harness.cluster import addons, build, configs, network, pki, preflight, workers
from ms5harness.cluster.components import COMPONENTS, NAMES, Echo, pid_of, safe, start_component
from ms5harness.cluster.mounts import remove_mounts, unmount_under
from ms5harness.cluster.node_images import CLUSTER_IMAGES
from ms5harness.cluster.processes import Process, is_alive, stop, wait_until
from ms5harness.cluster.spec import ClusterSpec, local_spec
from ms5harness.errors import HarnessError
from ms5harness.images import builder, loader

NODE_READY_SECONDS = 90  # kubelet registered and its CNI config in place
ADDONS_SECONDS = 120  # CoreDNS and metrics-server rolled out (images imported, not pulled)
POD_KILL_SECONDS = 3  # SIGKILLed pod processes gone before the next sweep

ADDON_DEPLOYMENTS = ("coredns", "metrics-server")
KUBECONFIG_USERS = {
    "admin": "admin", "controller-manager": "controller-manager", "scheduler": "scheduler",
    "kubelet": "kubelet-client", "kube-proxy": "kube-proxy", "kube-router": "kube-router",
}


class EmbeddedCluster:
    def __init__(self, spec: ClusterSpec | None = None, echo: Echo = print, nodes: int | None = None,
                 join_images: Collection[str] | None = None):
        """nodes: how many nodes `up` makes (1..4); None keeps what the last `up` made. join_images: the
        refs a worker imports as it starts, besides the cluster's own (pause, CoreDNS, metrics-server);
        None, every image the cluster has, as a node that may run any pod needs. A node only for test
        pods joins in seconds instead of importing every archive (about 2 min for 4.3 GB)."""
        if nodes is not None and not 1 <= nodes <= workers.MAX_NODES:
            raise HarnessError(f"--nodes {nodes} is outside 1..{workers.MAX_NODES}",
                               "the embedded cluster runs one to four nodes on this machine")
        self.spec = spec or local_spec()
        self.echo = echo
        self.nodes = nodes
        self.join_images = join_images

    # -- helpers ------------------------------------------------------------
    def pid_of(self, name: str) -> int | None:
        return pid_of(self.spec, name)

    @property
    def kubeconfig(self) -> Path:
        return self.spec.admin_kubeconfig

    @property
    def node_count(self) -> int:
        return self.nodes or workers.recorded_nodes(self.spec)

    def worker(self, index: int) -> workers.WorkerNode:
        return workers.WorkerNode(self.spec, index, self.kubeconfig, self.echo)

    @property
    def workers(self) -> list[workers.WorkerNode]:
        return [self.worker(i) for i in range(2, self.node_count + 1)]

    @property
    def node_names(self) -> list[str]:
        return [self.spec.node_name, *(w.name for w in self.workers)]

    def load_image(self, ref: str, archive: Path) -> None:
        """Import an image into every node's containerd; nodes that join later import it too."""
        running = [w.spec for w in self.workers if pid_of(w.spec, "containerd")]  # the others import it as they start
        for socket in [self.spec.containerd_socket, *(spec.containerd_socket for spec in running)]:
            loader.load(socket, ref, archive)
        known = self.images()
        if known.get(ref) != archive:
            (self.spec.state / "images.json").write_text(json.dumps({r: str(a) for r, a in {**known, ref: archive}.items()}, indent=1))

    def images(self) -> dict[str, Path]:
        """Every image imported so far (by ref), whose archive is still in the cache."""
        record = self.spec.state / "images.json"
        known = json.loads(record.read_text()) if record.exists() else {}
        return {ref: Path(archive) for ref, archive in known.items() if Path(archive).exists()}

    def images_to_join(self) -> dict[str, Path]:
        """What a starting worker imports (see join_images)."""
        known = self.images()
        if self.join_images is None:
            return known
        unknown = sorted(set(self.join_images) - known.keys())
        if unknown:
            raise HarnessError(f"a joining node cannot import {', '.join(unknown)}: the cluster has no such image",
                               "import it first (Target.ensure_image)")
        wanted = {img.ref for img in CLUSTER_IMAGES} | set(self.join_images)
        return {ref: archive for ref, archive in known.items() if ref in wanted}

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
                start_component(spec, comp, self.echo)
                if comp.name == "containerd":
                    for ref, archive in archives.items():
                        self.load_image(ref, archive)
                if comp.name == "kube-apiserver":
                    self._apply(addons.kube_router_rbac())
            self._wait_node_ready(spec.node_name)
            self._shape_nodes()
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

    def _shape_nodes(self) -> None:
        """Start the workers up to node_count (and remove those above it); pool labels on every node."""
        for index in workers.present_indexes(self.spec):
            if index > self.node_count:
                self.remove_node(index)
        tools.run("kubectl", self.kubeconfig, "label", "node", self.spec.node_name, "--overwrite",
                  *(f"{k}={v}" for k, v in workers.pool_labels(1)), seconds=tools.KUBECTL_SECONDS)
        if self.node_count == 1:
            workers.remove_node_bridge()
        for worker in self.workers:
            worker.up(self.images_to_join())
            self._wait_node_ready(worker.name)
        workers.record_nodes(self.spec, self.node_count)

    def remove_node(self, index: int) -> None:
        """Take a worker away for good: its Node object, then every trace on the machine."""
        worker = self.worker(index)
        tools.run("kubectl", self.kubeconfig, "delete", "node", worker.name, "--ignore-not-found", "--wait=false",
                  check=False, seconds=tools.KUBECTL_SECONDS)
        worker.down()
        self.echo(f"  node {worker.name} removed")

    def _apply(self, objects: list[dict]) -> None:
        text = yaml.safe_dump_all(objects, sort_keys=False)
        tools.run("kubectl", self.kubeconfig, "apply", "--server-side", "--force-conflicts",
                  "--field-manager=ms5harness", "-f", "-", stdin=text, seconds=tools.KUBECTL_SECONDS)

    def _wait_node_ready(self, name: str, timeout: float = NODE_READY_SECONDS) -> None:
        t0 = time.monotonic()

        def ready() -> bool:
            out = tools.run("kubectl", self.kubeconfig, "get", "node", name, "-o", "json",
                            check=False, seconds=tools.KUBECTL_SECONDS)
            if out.returncode != 0:
                return False
            conds = json.loads(out.stdout)["status"].get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

        if not wait_until(ready, timeout, 0.5):
            raise HarnessError(f"node {name} did not become Ready within {timeout:.0f}s",
                               f"see `ms5harness cluster logs kubelet --node {name}`")
        self.echo(f"  node {name:<19} Ready after {time.monotonic() - t0:.1f}s")

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
        for index in workers.present_indexes(spec):
            self.worker(index).down()
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
        workers.remove_node_bridge()
        network.remove_owned_chains()
        network.remove_owned_ipsets()
        remove_pod_cgroups()
        network.restore_sysctls(spec)
        remove_mounts((spec.state, spec.run))  # again: what the cleanup above released
        for d in (spec.state, spec.run):
            shutil.rmtree(d, ignore_errors=True)
        say(f"cluster down in {time.monotonic() - t0:.1f}s")

    # -- status / logs ------------------------------------------------------
    def status(self) -> list[dict]:
        rows = []
        for comp in COMPONENTS:
            pid = self.pid_of(comp.name)
            healthy = bool(pid) and safe(comp.health, self.spec)
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
        for worker in self.workers:
            rows += worker.status()
        return rows

    def log_file(self, name: str, node: str = "") -> Path:
        if name not in NAMES:
            raise HarnessError(f"unknown component {name!r}", f"choose one of {', '.join(NAMES)}")
        log_dir = self.spec.log_dir
        if node and node != self.spec.node_name:
            found = [w for w in self.workers if w.name == node]
            if not found:
                raise HarnessError(f"no node {node!r} in the embedded cluster", f"choose one of {', '.join(self.node_names)}")
            log_dir = found[0].spec.log_dir
        path = log_dir / f"{name}.log"
        if not path.exists():
            raise HarnessError(f"{name} has no log at {path}", "the cluster was never started, or was taken down")
        return path


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
