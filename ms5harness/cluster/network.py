"""Host networking the node needs, and its complete removal.

The egress guard keeps pod and service traffic on the machine: anything from
the pod range, or to an un-translated service address, that would leave through
the default interface is rejected. Cleanup removes every iptables chain, ipset,
bridge and network namespace the cluster's components created.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

from ms5harness.cluster.spec import ClusterSpec
from ms5harness.errors import HarnessError

GUARD_CHAIN = "MS5H-EGRESS-GUARD"
# Chains created by kube-proxy/kubelet (KUBE-), kube-router (KUBE-ROUTER-, KUBE-POD-FW-,
# KUBE-NWPLCY-), CNI plugins (CNI-) and this module (MS5H-).
OWNED_CHAIN_PREFIXES = ("KUBE-", "CNI-", "MS5H-")
OWNED_IPSET_PREFIXES = ("KUBE-", "kube-router-", "inet6:KUBE-", "inet6:kube-router-")
SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "fs.inotify.max_user_instances": "1024",
    "fs.inotify.max_user_watches": "524288",
}


def _sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def apply_sysctls(spec: ClusterSpec) -> None:
    """Set what the node needs, remembering the previous values for `down`."""
    saved = spec.state / "sysctl-before.json"
    before = json.loads(saved.read_text()) if saved.exists() else {}
    for key, value in SYSCTLS.items():
        path = _sysctl_path(key)
        if not path.exists():
            raise HarnessError(f"kernel setting {key} is missing", "the kernel needs br_netfilter and IPv4 forwarding")
        before.setdefault(key, path.read_text().strip())
        if key.startswith("fs.inotify") and int(before[key]) >= int(value):
            continue
        path.write_text(value)
    saved.write_text(json.dumps(before))


def restore_sysctls(spec: ClusterSpec) -> None:
    saved = spec.state / "sysctl-before.json"
    if not saved.exists():
        return
    for key, value in json.loads(saved.read_text()).items():
        try:
            _sysctl_path(key).write_text(value)
        except OSError:
            pass


def guard_rules(spec: ClusterSpec) -> list[list[str]]:
    """iptables rule specs (without -A CHAIN) of the egress guard."""
    reject = ["-j", "REJECT", "--reject-with", "icmp-net-prohibited"]
    out = ["-o", spec.egress_interface]
    return [
        ["-s", spec.pod_cidr, *out, "-m", "comment", "--comment", "ms5h: pods stay on this machine", *reject],
        ["-d", spec.pod_cidr, *out, "-m", "comment", "--comment", "ms5h: pod range is local only", *reject],
        ["-d", spec.service_cidr, *out, "-m", "comment", "--comment", "ms5h: untranslated service IPs", *reject],
        ["-s", spec.node_subnet, *out, "-m", "comment", "--comment", "ms5h: worker nodes stay on this machine", *reject],
    ]


def iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["iptables", "-w", "5", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise HarnessError(f"iptables {' '.join(args)} failed: {proc.stderr.strip()}",
                           "the node needs a working iptables (nft backend) as root")
    return proc


def install_egress_guard(spec: ClusterSpec) -> None:
    if iptables("-n", "-L", GUARD_CHAIN, check=False).returncode != 0:
        iptables("-N", GUARD_CHAIN)
    iptables("-F", GUARD_CHAIN)
    for rule in guard_rules(spec):
        iptables("-A", GUARD_CHAIN, *rule)
    for parent in ("FORWARD", "OUTPUT"):
        if iptables("-C", parent, "-j", GUARD_CHAIN, check=False).returncode != 0:
            iptables("-I", parent, "1", "-j", GUARD_CHAIN)


def is_owned_chain(name: str) -> bool:
    return name.startswith(OWNED_CHAIN_PREFIXES)


def strip_owned(save_text: str) -> str:
    """Remove owned chains, their rules and every jump into them from iptables-save output.

    Working on the whole ruleset at once (then iptables-restore) is atomic and
    fast, and removes rules of components that died without cleaning up.
    """
    out: list[str] = []
    for line in save_text.splitlines():
        if line.startswith(":"):
            if is_owned_chain(line[1:].split()[0]):
                continue
        elif line.startswith("-A "):
            parts = line.split()
            if is_owned_chain(parts[1]):
                continue
            if any(flag in ("-j", "-g") and i + 1 < len(parts) and is_owned_chain(parts[i + 1])
                   for i, flag in enumerate(parts)):
                continue
        out.append(line)
    return "\n".join(out) + "\n"


def owned_chains(save_text: str) -> list[str]:
    return [line[1:].split()[0] for line in save_text.splitlines()
            if line.startswith(":") and is_owned_chain(line[1:].split()[0])]


def remove_owned_chains() -> None:
    for family in ("iptables", "ip6tables"):
        saved = subprocess.run([f"{family}-save"], capture_output=True, text=True)
        if saved.returncode != 0 or not owned_chains(saved.stdout):
            continue
        restored = subprocess.run([f"{family}-restore", "-w", "5"], input=strip_owned(saved.stdout),
                                  capture_output=True, text=True)
        if restored.returncode != 0:
            raise HarnessError(f"{family}-restore failed while removing cluster chains: {restored.stderr.strip()}",
                               f"inspect `{family}-save` and remove KUBE-/CNI-/MS5H- chains by hand")


def remaining_chains() -> list[str]:
    found = []
    for family in ("iptables", "ip6tables"):
        saved = subprocess.run([f"{family}-save"], capture_output=True, text=True)
        found += [f"{family}:{c}" for c in owned_chains(saved.stdout)]
    return found


def owned_ipsets() -> list[str]:
    proc = subprocess.run(["ipset", "list", "-n"], capture_output=True, text=True)
    return [n for n in proc.stdout.split() if n.startswith(OWNED_IPSET_PREFIXES)]


def remove_owned_ipsets() -> None:
    for name in owned_ipsets():
        subprocess.run(["ipset", "destroy", name], capture_output=True)


def pod_netns(spec: ClusterSpec) -> list[str]:
    """CNI network namespaces whose interface holds an address of this node's pod range."""
    network = ipaddress.ip_network(spec.node_pod_cidr)
    names = []
    for ns in sorted(Path("/run/netns").glob("cni-*")):
        proc = subprocess.run(["ip", "-n", ns.name, "-4", "-o", "addr"], capture_output=True, text=True)
        for token in proc.stdout.split():
            if "/" in token:
                try:
                    if ipaddress.ip_interface(token).ip in network:
                        names.append(ns.name)
                        break
                except ValueError:
                    continue
    return names


def remove_pod_netns(spec: ClusterSpec) -> None:
    for name in pod_netns(spec):
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


NETNS_DIR = Path("/run/netns")


def mountinfo() -> str:
    return Path("/proc/self/mountinfo").read_text()


def netns_mounts(table: str) -> tuple[list[str], list[list[str]]]:
    """Ids of the mounts of /run/netns itself (oldest first), and the mounts below it.
    (os.path.ismount cannot see a directory bound onto itself: same device, so mountinfo it is.)"""
    rows = [line.split() for line in table.splitlines() if line.strip()]
    return [r[0] for r in rows if r[4] == str(NETNS_DIR)], [r for r in rows if r[4].startswith(f"{NETNS_DIR}/")]


def hidden_netns_mounts(table: str) -> list[str]:
    """Namespace mounts under /run/netns covered by a later mount of /run/netns itself."""
    covering, below = netns_mounts(table)
    return [r[4] for r in below if r[1] != covering[-1]] if covering else []


def share_netns_dir() -> None:
    """Make /run/netns a shared mount point before containerd mounts pod namespaces in it.

    `ip netns add` does this itself when the directory is not yet a mount point; done after
    containerd's mounts, its bind covers them where neither `ip netns delete` nor umount can
    reach, and every cluster run leaves its namespaces behind."""
    NETNS_DIR.mkdir(parents=True, exist_ok=True)
    if not netns_mounts(mountinfo())[0]:
        subprocess.run(["mount", "--bind", str(NETNS_DIR), str(NETNS_DIR)], check=True, capture_output=True)
    subprocess.run(["mount", "--make-shared", str(NETNS_DIR)], check=True, capture_output=True)


def remove_hidden_netns() -> int:
    """Uncover and remove hidden namespace mounts, unless a visible namespace (someone else's)
    still lives in the covering mount; returns how many were removed."""
    table = mountinfo()
    hidden = hidden_netns_mounts(table)
    covering, below = netns_mounts(table)
    if not hidden or any(r[1] == covering[-1] for r in below):
        return 0
    for _ in covering:
        subprocess.run(["umount", "-l", str(NETNS_DIR)], check=True, capture_output=True)
    for path in hidden:
        subprocess.run(["umount", "-l", path], capture_output=True)
        Path(path).unlink(missing_ok=True)
    return len(hidden)


def bridge_exists(spec: ClusterSpec) -> bool:
    return Path(f"/sys/class/net/{spec.bridge}").exists()


def remove_bridge(spec: ClusterSpec) -> None:
    if bridge_exists(spec):
        subprocess.run(["ip", "link", "delete", spec.bridge], capture_output=True)
