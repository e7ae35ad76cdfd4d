"""Worker nodes of the embedded cluster: real kubelets beside the control-plane node, on one host.

A worker is what kind gets from a container, without Docker: its own network namespace
(joined to the host by a veth on the bridge ms5nodes0, 10.250.0.N), its own containerd, kubelet,
kube-proxy and kube-router started inside it, its own cgroup subtree /ms5-node-N in every v1
hierarchy (the node's processes in /ms5-node-N/system, its pods in /ms5-node-N/kubepods), and its
own state directory. The controller-manager allocates its pod range; the host routes that range
to the node's address, so pods on every node reach each other through the host's FORWARD chain,
where the egress guard still keeps everything on the machine.

Freezing the subtree hangs the node and every pod on it at once; killing it is a crash.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from ms5harness import names, tools
from ms5harness.cluster import configs, network, pki
from ms5harness.cluster.mounts import remove_mounts
from ms5harness.cluster.components import NODE_COMPONENTS, Echo, pid_of, safe, start_component
from ms5harness.cluster.processes import CGROUP_V1, cgroup_controllers, is_alive, wait_until
from ms5harness.cluster.spec import ClusterSpec
from ms5harness.errors import HarnessError
from ms5harness.images import loader

NODE_BRIDGE = "ms5nodes0"
MAX_NODES = 4
POD_RANGE_SECONDS = 60  # kubelet registered and the controller-manager gave the Node its pod range
KILL_ROUNDS = 5  # sweeps of SIGKILL over the node's subtree (shims fork while dying)
KILL_SECONDS = 3  # per sweep, until the killed processes are gone

# Pools as on AKS (values-aks.yaml's nodePools): the control-plane node is the system pool, the
# others alternate compute and spot; the spot pool carries AKS' taint and label.
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
POOL_OF_INDEX = {1: "system", 2: "compute", 3: "spot", 4: "compute"}


def pool_labels(index: int) -> tuple[tuple[str, str], ...]:
    pool = POOL_OF_INDEX[index]
    labels = (("agentpool", pool), (names.POOL_LABEL, pool),
              ("topology.kubernetes.io/zone", f"local-{index}"))
    if pool == "spot":
        labels += (("kubernetes.azure.com/scalesetpriority", "spot"),)
    return labels


def node_name(cluster: ClusterSpec, index: int) -> str:
    return cluster.node_name if index == 1 else f"{cluster.node_name}-{index}"


def node_subnet(cluster: ClusterSpec) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cluster.node_subnet)


def gateway(cluster: ClusterSpec) -> str:
    """The host's address on the node bridge: the workers' default route."""
    return str(node_subnet(cluster)[1])


def worker_spec(cluster: ClusterSpec, index: int) -> ClusterSpec:
    """The worker's shape, derived from the cluster's: its own name, address, namespace, subtree, state."""
    if not 2 <= index <= MAX_NODES:
        raise ValueError(f"worker index {index} outside 2..{MAX_NODES}")
    name = node_name(cluster, index)
    spec = replace(cluster, node_name=name, node_ip=str(node_subnet(cluster)[index]), netns=name, cgroup_root=f"/{name}",
                   api_host=cluster.node_ip, state=cluster.state / "nodes" / name, run=cluster.run / "nodes" / name,
                   node_labels=pool_labels(index),
                   node_taints=(SPOT_TAINT,) if POOL_OF_INDEX[index] == "spot" else ())
    cidr_file = spec.state / "pod-cidr"
    return replace(spec, node_pod_cidr=cidr_file.read_text().strip()) if cidr_file.exists() else spec


def host_interface(spec: ClusterSpec) -> str:
    return f"ms5n{spec.node_ip.rsplit('.', 1)[1]}"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise HarnessError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}", "the worker node needs iproute2 as root")
    return proc


def ensure_node_bridge(cluster: ClusterSpec) -> None:
    if Path(f"/sys/class/net/{NODE_BRIDGE}").exists():
        return
    _ip("link", "add", NODE_BRIDGE, "type", "bridge")
    _ip("addr", "add", f"{gateway(cluster)}/{node_subnet(cluster).prefixlen}", "dev", NODE_BRIDGE)
    _ip("link", "set", NODE_BRIDGE, "up")


def remove_node_bridge() -> None:
    if Path(f"/sys/class/net/{NODE_BRIDGE}").exists():
        _ip("link", "delete", NODE_BRIDGE, check=False)


def netns_exists(name: str) -> bool:
    return (network.NETNS_DIR / name).exists()


def ensure_netns(spec: ClusterSpec) -> None:
    """The node's namespace, its veth on the node bridge, its address and its default route via the host."""
    if netns_exists(spec.netns):
        return
    ensure_node_bridge(spec)
    _ip("netns", "add", spec.netns)
    veth = host_interface(spec)
    _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", spec.netns)
    _ip("link", "set", veth, "master", NODE_BRIDGE, "up")
    _ip("-n", spec.netns, "addr", "add", f"{spec.node_ip}/{node_subnet(spec).prefixlen}", "dev", "eth0")
    _ip("-n", spec.netns, "link", "set", "lo", "up")
    _ip("-n", spec.netns, "link", "set", "eth0", "up")
    _ip("-n", spec.netns, "route", "add", "default", "via", gateway(spec))
    # Per-namespace settings: forwarding for the pods' traffic, bridged traffic through iptables (policies).
    subprocess.run(["ip", "netns", "exec", spec.netns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
                    "net.bridge.bridge-nf-call-iptables=1"], check=True, capture_output=True)


def hierarchies() -> list[Path]:
    """Every mounted hierarchy, the unified one included (runc makes the pods' cgroups there too)."""
    return [*cgroup_controllers(), CGROUP_V1 / "unified"]


def cgroup_dirs(spec: ClusterSpec) -> list[Path]:
    """The node's subtree in every hierarchy, deepest first."""
    found: list[Path] = []
    for controller in hierarchies():
        for dirpath, _dirs, _files in os.walk(controller / spec.cgroup_root.strip("/")):
            found.append(Path(dirpath))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def ensure_cgroups(spec: ClusterSpec) -> None:
    for controller in cgroup_controllers():
        for sub in ("", "system"):
            path = controller / spec.cgroup_root.strip("/") / sub
            path.mkdir(parents=True, exist_ok=True)
            if controller.name == "cpuset":  # a new v1 cpuset is empty: it inherits nothing
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    (path / knob).write_text((controller / knob).read_text())


def freezer(spec: ClusterSpec) -> Path:
    return CGROUP_V1 / "freezer" / spec.cgroup_root.strip("/") / "freezer.state"


def freeze(spec: ClusterSpec) -> None:
    """Hang the node: its kubelet, runtime, proxies and every container stop where they are."""
    freezer(spec).write_text("FROZEN")


def thaw(spec: ClusterSpec) -> None:
    if freezer(spec).exists():
        freezer(spec).write_text("THAWED")


def is_frozen(spec: ClusterSpec) -> bool:
    return freezer(spec).exists() and freezer(spec).read_text().strip() != "THAWED"


def node_pids(spec: ClusterSpec) -> set[int]:
    """Every process of the node (each is in every hierarchy: the pids one is enough)."""
    pids: set[int] = set()
    for dirpath, _dirs, _files in os.walk(CGROUP_V1 / "pids" / spec.cgroup_root.strip("/")):
        cg = Path(dirpath)
        try:
            pids |= {int(p) for p in (cg / "cgroup.procs").read_text().split()}
        except (OSError, ValueError):
            continue
    return pids


def kill_everything(spec: ClusterSpec) -> int:
    """SIGKILL every process of the node at once (a crash, or a VM evicted); returns how many."""
    thaw(spec)  # a frozen task takes its SIGKILL only when thawed
    killed = 0
    for _ in range(KILL_ROUNDS):
        pids = node_pids(spec)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        wait_until(lambda: not any(is_alive(p) for p in pids), KILL_SECONDS, 0.05)
    return killed


class WorkerNode:
    """One worker: `up` is idempotent, `down` removes every trace (processes, namespaces, routes, mounts,
    cgroups, state)."""

    def __init__(self, cluster: ClusterSpec, index: int, kubeconfig: Path, echo: Echo = print):
        self.cluster, self.index, self.admin_kubeconfig, self.echo = cluster, index, kubeconfig, echo

    @property
    def spec(self) -> ClusterSpec:
        return worker_spec(self.cluster, self.index)

    @property
    def name(self) -> str:
        return node_name(self.cluster, self.index)

    def up(self, images: dict[str, Path]) -> None:
        spec = self.spec
        label = f"{self.name}/"
        self._prepare_files(spec)
        ensure_cgroups(spec)
        ensure_netns(spec)
        for comp in NODE_COMPONENTS:
            if comp.name == "kube-proxy":  # after the kubelet registered: the pod range is known
                spec = self._route_pod_range()
            start_component(spec, comp, self.echo, label)
            if comp.name == "containerd":
                for ref, archive in images.items():
                    loader.load(spec.containerd_socket, ref, archive)

    def _prepare_files(self, spec: ClusterSpec) -> None:
        for d in (spec.state, spec.config_dir, spec.log_dir, spec.pid_dir, spec.kubelet_root):
            d.mkdir(parents=True, exist_ok=True)
        spec.state.chmod(0o700)
        pki.generate_node(self.cluster.pki, spec.pki, spec.node_name, spec.node_ip)
        ca = (spec.pki / "ca.crt").read_bytes()
        for config_name, cert_dir, cert in (("kubelet", spec.pki, "kubelet-client"),
                                            ("kube-proxy", self.cluster.pki, "kube-proxy"),
                                            ("kube-router", self.cluster.pki, "kube-router")):
            text = configs.kubeconfig(spec, config_name, ca, (cert_dir / f"{cert}.crt").read_bytes(),
                                      (cert_dir / f"{cert}.key").read_bytes())
            configs.write_if_changed(spec.config_dir / f"{config_name}.kubeconfig", text, mode=0o600)
        for path, text in ((spec.config_dir / "containerd.toml", configs.containerd_config(spec)),
                           (spec.config_dir / "kubelet.yaml", configs.kubelet_config(spec)),
                           (spec.config_dir / "kube-proxy.yaml", configs.kube_proxy_config(spec))):
            configs.write_if_changed(path, text)

    def _route_pod_range(self) -> ClusterSpec:
        """Wait for the pod range the controller-manager allocated, give the node's CNI that range (the
        node turns Ready) and route it on the host to the node."""
        spec = self.spec
        cidr = ""

        def allocated() -> bool:
            nonlocal cidr
            out = tools.run("kubectl", self.admin_kubeconfig, "get", "node", spec.node_name, "-o",
                            "jsonpath={.spec.podCIDR}", check=False, seconds=tools.KUBECTL_SECONDS)
            cidr = out.stdout.strip() if out.returncode == 0 else ""
            return bool(cidr)

        if not wait_until(allocated, POD_RANGE_SECONDS, 0.5):
            raise HarnessError(f"node {spec.node_name} got no pod range within {POD_RANGE_SECONDS}s",
                               f"see `ms5harness cluster logs kubelet --node {spec.node_name}`")
        (spec.state / "pod-cidr").write_text(cidr)
        spec = self.spec
        configs.write_if_changed(spec.cni_conf_dir / "10-ms5-bridge.conflist", configs.cni_conflist(spec))
        _ip("route", "replace", cidr, "via", spec.node_ip, "dev", NODE_BRIDGE)
        return spec

    def down(self) -> None:
        spec = self.spec
        kill_everything(spec)
        network.remove_pod_netns(spec)
        if spec.node_pod_cidr != self.cluster.node_pod_cidr:
            _ip("route", "del", spec.node_pod_cidr, check=False)
        if netns_exists(spec.netns):
            _ip("netns", "delete", spec.netns, check=False)
        _ip("link", "delete", host_interface(spec), check=False)
        remove_mounts((spec.state, spec.run))
        for cg in cgroup_dirs(spec):
            try:
                cg.rmdir()
            except OSError:
                pass
        for d in (spec.state, spec.run):
            shutil.rmtree(d, ignore_errors=True)

    def status(self) -> list[dict]:
        spec = self.spec
        rows = []
        for comp in NODE_COMPONENTS:
            pid = pid_of(spec, comp.name)
            healthy = bool(pid) and not is_frozen(spec) and safe(comp.health, spec)
            state = "healthy" if healthy else ("frozen" if pid and is_frozen(spec) else ("unhealthy" if pid else "stopped"))
            rows.append({"component": f"{self.name}/{comp.name}", "pid": pid or "-", "state": state})
        return rows


def recorded_nodes(cluster: ClusterSpec) -> int:
    """How many nodes the last `cluster up` made (1 when it was never asked for more)."""
    try:
        return int(json.loads((cluster.state / "nodes.json").read_text())["nodes"])
    except (OSError, ValueError, KeyError):
        return 1


def record_nodes(cluster: ClusterSpec, count: int) -> None:
    (cluster.state / "nodes.json").write_text(json.dumps({"nodes": count, "at": time.time()}))


def present_indexes(cluster: ClusterSpec) -> list[int]:
    """Workers with any trace on the machine (a state directory or a namespace)."""
    return [i for i in range(2, MAX_NODES + 1)
            if (cluster.state / "nodes" / node_name(cluster, i)).exists() or netns_exists(node_name(cluster, i))]


def traces(cluster: ClusterSpec, index: int) -> list[str]:
    """What one worker left on the machine: removing it must leave none, whatever other nodes still run."""
    spec = worker_spec(cluster, index)
    veth = host_interface(spec)
    found = [f"netns {spec.netns}"] if netns_exists(spec.netns) else []
    found += [f"link {veth}"] if (Path("/sys/class/net") / veth).exists() else []
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True).stdout.splitlines()
    found += [f"route {r}" for r in routes if f"via {spec.node_ip} " in f"{r} "]
    found += [f"cgroup {c / spec.cgroup_root.strip('/')}" for c in hierarchies() if (c / spec.cgroup_root.strip("/")).exists()]
    return found + [f"state {d}" for d in (spec.state, spec.run) if d.exists()]


def leftovers(cluster: ClusterSpec) -> list[str]:
    """Every trace a worker can leave on the machine: `down` and node removal must leave none."""
    found = [f"netns {p.name}" for p in network.NETNS_DIR.glob(f"{cluster.node_name}-*")]
    found += [f"link {p.name}" for p in Path("/sys/class/net").iterdir() if p.name.startswith("ms5n")]
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True).stdout.splitlines()
    found += [f"route {r}" for r in routes if NODE_BRIDGE in r]
    for controller in hierarchies():
        found += [f"cgroup {p}" for p in controller.glob(f"{cluster.node_name}-*")]
    found += [f"state {p}" for p in (cluster.state / "nodes", cluster.run / "nodes") if p.exists() and any(p.iterdir())]
    return found
