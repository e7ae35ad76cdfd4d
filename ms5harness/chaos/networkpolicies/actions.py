"""Network faults made of NetworkPolicy: partitions between components, and an allow-all mistake."""

from __future__ import annotations

import shutil
import subprocess

from kubernetes import client

from ms5harness import names
from ms5harness.chaos import ledger, session
from ms5harness.chaos.nodes import machines
from ms5harness.chaos.toxics import proxy as fault_proxy
from ms5harness.kube.client import Kube

__all__ = ["partition", "allow_all"]  # the activities; the undo functions are for the ledger

ALLOW_ALL = "ms5h-chaos-allow-all"
CONNTRACK_SECONDS = 10  # one `conntrack -D` on the node: instant, unless the host is wedged


def selects(peer: dict, component: str) -> bool:
    """A same-namespace peer whose pod selector names exactly this component."""
    return "namespaceSelector" not in peer and \
        ((peer.get("podSelector") or {}).get("matchLabels") or {}).get(names.COMPONENT) == component


def without_peer(rules: list[dict], component: str, ports: set[int] | None = None) -> list[dict]:
    """Ingress rules with every peer naming `component` removed; rules left without peers go too
    (an empty `from` would admit everyone, the opposite of a partition). With `ports`, only rules
    for those ports are narrowed (the fault proxy's port in front of one destination)."""
    kept = []
    for rule in rules:
        peers = rule.get("from")
        rule_ports = {p.get("port") for p in rule.get("ports") or []}
        if not peers or (ports is not None and not (rule_ports and rule_ports <= ports)):
            kept.append(rule)
            continue
        remaining = [p for p in peers if not selects(p, component)]
        if remaining:
            kept.append({**rule, "from": remaining})
    return kept


def partition(source: str, destination: str, configuration: dict | None = None,
              secrets: dict | None = None) -> list[str]:
    """Refuse `source` -> `destination` by removing the rules that admit it from the destination's
    policies; returns the policies changed (their specs are restored on rollback).

    Where the fault proxy (chart: faultProxy) fronts the destination, the source's way through it is cut
    too: its rules for the proxy's port in front of the destination (the proxy's other ports stay open).

    Open connections survive a policy change (policy engines accept established flows), so on
    a node where `conntrack` runs (the embedded cluster) they are cut as well.
    """
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    proxied = fault_proxy.fronted_ports(kube, namespace, destination)
    changed = []
    for policy in kube.networking.list_namespaced_network_policy(namespace).items:
        spec = kube.api.sanitize_for_serialization(policy.spec)
        selected = (spec.get("podSelector", {}).get("matchLabels") or {}).get(names.COMPONENT)
        if selected == destination:
            ports = None
        elif selected == fault_proxy.COMPONENT and proxied:
            ports = proxied
        else:
            continue
        ingress = spec.get("ingress") or []
        narrowed = without_peer(ingress, source, ports)
        if narrowed == ingress:
            continue
        name = policy.metadata.name
        ledger.record(kube, namespace, f"networkpolicy/{name} admits {source} again",
                      f"{__name__}.restore_spec", name=name, spec=spec)
        kube.networking.patch_namespaced_network_policy(
            name, namespace, [{"op": "replace", "path": "/spec/ingress", "value": narrowed}])
        changed.append(name)
    if not changed:
        raise session.ActivityFailed(f"no NetworkPolicy in {namespace} admits {source} to {destination}")
    cut_open_connections(kube, namespace, source, destination)
    for port in sorted(proxied):
        cut_open_connections(kube, namespace, source, fault_proxy.COMPONENT, port)
    return changed


def cut_open_connections(kube: Kube, namespace: str, source: str, destination: str, port: int | None = None) -> None:
    """Delete the nodes' conntrack entries from the source's pods to the destination's (on one port if given):
    the host's, and those of every worker node of the embedded cluster (each its own network namespace,
    where its pods' policies are enforced)."""
    if shutil.which("conntrack") is None:
        return
    in_each_node = [[], *(["ip", "netns", "exec", spec.netns] for spec in machines.embedded_workers(kube).values())]
    ips = {c: [p.status.pod_ip for p in kube.core.list_namespaced_pod(
        namespace, label_selector=names.component_selector(c)).items if p.status.pod_ip]
        for c in (source, destination)}
    direct, via_service = (["-p", "tcp", "--dport", str(port)], ["-p", "tcp", "--reply-port-src", str(port)]) \
        if port else ([], [])
    for src in ips[source]:
        for dst in ips[destination]:  # direct to the pod, and through a Service address (DNAT to the pod)
            for match in (["-d", dst, *direct], ["--reply-src", dst, *via_service]):
                for node in in_each_node:
                    subprocess.run([*node, "conntrack", "-D", "-s", src, *match], capture_output=True,
                                   timeout=CONNTRACK_SECONDS)


def restore_spec(kube: Kube, namespace: str, name: str, spec: dict) -> None:
    kube.networking.patch_namespaced_network_policy(name, namespace, [{"op": "replace", "path": "/spec", "value": spec}])


def allow_all(configuration: dict | None = None, secrets: dict | None = None) -> str:
    """Add the policy every isolation audit fears: all pods may send and receive anything."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    ledger.record(kube, namespace, f"networkpolicy/{ALLOW_ALL} removed", f"{__name__}.delete_policy", name=ALLOW_ALL)
    kube.networking.create_namespaced_network_policy(namespace, client.V1NetworkPolicy(
        metadata=client.V1ObjectMeta(name=ALLOW_ALL),
        spec=client.V1NetworkPolicySpec(pod_selector=client.V1LabelSelector(),
                                        policy_types=["Ingress", "Egress"],
                                        ingress=[client.V1NetworkPolicyIngressRule()],
                                        egress=[client.V1NetworkPolicyEgressRule()])))
    return ALLOW_ALL


def delete_policy(kube: Kube, namespace: str, name: str) -> None:
    try:
        kube.networking.delete_namespaced_network_policy(name, namespace)
    except client.ApiException as err:
        if err.status != 404:
            raise
