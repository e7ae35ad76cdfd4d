"""The embedded cluster's fixed shape: addresses, ports and file locations.

Pod and service ranges avoid the VM's own network (192.0.2.0/24) and its
resolver (10.255.255.53); everything a component needs is derived from here so
that config generation stays pure and testable.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ms5harness import paths
from ms5harness.errors import HarnessError


@dataclass(frozen=True)
class ClusterSpec:
    node_ip: str
    egress_interface: str
    node_name: str = "ms5-node"
    cluster_name: str = "ms5-embedded"
    pod_cidr: str = "10.244.0.0/16"
    node_pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/16"
    dns_service_ip: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    bridge: str = "ms5br0"
    node_subnet: str = "10.250.0.0/24"  # worker nodes' addresses, behind the host's node bridge
    api_port: int = 6443
    state: Path = Path("/var/lib/ms5harness")
    run: Path = Path("/run/ms5harness")
    # A worker node (cluster/workers.py) runs in its own network namespace and cgroup subtree and
    # reaches the API server at the control-plane node's address; the control-plane node uses the host's.
    netns: str = ""
    cgroup_root: str = "/"
    api_host: str = "127.0.0.1"
    node_labels: tuple[tuple[str, str], ...] = ()
    node_taints: tuple[str, ...] = ()

    @property
    def api_service_ip(self) -> str:
        return str(next(ipaddress.ip_network(self.service_cidr).hosts()))

    @property
    def bridge_ip(self) -> str:
        return str(next(ipaddress.ip_network(self.node_pod_cidr).hosts()))

    @property
    def server_url(self) -> str:
        return f"https://{self.api_host}:{self.api_port}"

    @property
    def local_address(self) -> str:
        """Where the node's health and metrics ports listen: loopback, or a worker's own address
        (its loopback is inside its namespace, out of the harness's reach)."""
        return self.node_ip if self.netns else "127.0.0.1"

    # Locations -------------------------------------------------------------
    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def config_dir(self) -> Path:
        return self.state / "config"

    @property
    def log_dir(self) -> Path:
        return self.state / "logs"

    @property
    def pid_dir(self) -> Path:
        return self.run / "pids"

    @property
    def containerd_socket(self) -> Path:
        return self.run / "containerd" / "containerd.sock"

    @property
    def kubelet_root(self) -> Path:
        return self.state / "kubelet"

    @property
    def pod_logs(self) -> Path:
        """A worker's pod log directory (the control-plane node keeps the kubelet's /var/log/pods)."""
        return self.state / "pod-logs"

    @property
    def cni_conf_dir(self) -> Path:
        return self.state / "cni" / "net.d"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.state / "kubeconfig"


def default_route_interface() -> tuple[str, str]:
    """(interface, IPv4 address) of the default route: the node's address and the egress to guard."""
    out = subprocess.run(["ip", "-4", "route", "show", "default"], capture_output=True, text=True).stdout.split()
    if "dev" not in out:
        raise HarnessError("this machine has no IPv4 default route", "the embedded cluster needs one interface with an address")
    dev = out[out.index("dev") + 1]
    addr = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", dev], capture_output=True, text=True).stdout.split()
    if "inet" not in addr:
        raise HarnessError(f"interface {dev} has no IPv4 address", "configure an address on the default interface")
    return dev, addr[addr.index("inet") + 1].split("/")[0]


def local_spec() -> ClusterSpec:
    dev, ip = default_route_interface()
    return ClusterSpec(node_ip=ip, egress_interface=dev, state=paths.state_dir(),
                       run=Path("/run") / paths.state_dir().name)


def port_in_use(port: int, host: str = "0.0.0.0") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False
