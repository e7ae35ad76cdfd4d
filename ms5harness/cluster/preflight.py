"""Checks that fail fast, with the cause and the fix, before anything is started."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ms5harness.cluster.spec import port_in_use
from ms5harness.errors import HarnessError

HOST_COMMANDS = {
    "containerd": "containerd", "runc": "runc", "ctr": "containerd", "iptables": "iptables",
    "iptables-save": "iptables", "ipset": "ipset", "conntrack": "conntrack", "ip": "iproute2",
    "buildah": "buildah", "mmdebstrap": "mmdebstrap",
}
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")


def check_root() -> None:
    if os.geteuid() != 0:
        raise HarnessError("the embedded cluster must run as root (it starts kubelet, containerd and iptables)",
                           "run with sudo, or pass --kubeconfig for an existing cluster")


def check_kernel() -> None:
    filesystems = Path("/proc/filesystems").read_text()
    if "overlay" not in filesystems:
        raise HarnessError("the kernel has no overlay filesystem", "load the overlay module (containerd's snapshotter needs it)")
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        raise HarnessError("the kernel lacks br_netfilter (bridged pod traffic would bypass NetworkPolicy)",
                           "run `modprobe br_netfilter` on the host")
    if not Path("/sys/fs/cgroup/memory").is_dir() and not Path("/sys/fs/cgroup/cgroup.controllers").exists():
        raise HarnessError("no memory cgroup controller is mounted", "mount cgroups (v1 memory or cgroup v2)")


def check_commands() -> None:
    missing = sorted({pkg for cmd, pkg in HOST_COMMANDS.items() if shutil.which(cmd) is None})
    if missing:
        raise HarnessError(f"host packages missing: {', '.join(missing)}", "run scripts/install-host-deps.sh")
    absent = [p for p in CNI_PLUGINS if not Path("/usr/lib/cni", p).exists()]
    if absent:
        raise HarnessError(f"CNI plugins missing in /usr/lib/cni: {', '.join(absent)}",
                           "apt-get install containernetworking-plugins")


def check_host() -> None:
    check_root()
    check_kernel()
    check_commands()


def check_ports(ports: list[int]) -> None:
    busy = [p for p in ports if port_in_use(p)]
    if busy:
        raise HarnessError(f"port {busy[0]} is already in use" + (f" (also {busy[1:]})" if busy[1:] else ""),
                           f"stop whatever listens there (`ss -ltnp 'sport = :{busy[0]}'`) or run `ms5harness cluster down`")
