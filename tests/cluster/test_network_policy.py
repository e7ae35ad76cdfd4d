"""NetworkPolicy is enforced (kube-router), and pod traffic cannot leave the machine."""

import subprocess

import pytest

from ms5harness.kube import objects, waits

pytestmark = pytest.mark.cluster


def connects(scratch, ip) -> bool:
    return scratch.can_connect("client", ip, 8080, timeout=2)


def test_default_deny_blocks_and_an_allow_policy_reopens(kube, scratch):
    server = scratch.serve_http("server")
    scratch.sleeper("client", labels={"app": "client"})
    ip = server.status.pod_ip
    assert connects(scratch, ip), "without any policy the client must reach the server"

    scratch.create(objects.network_policy("default-deny", {}, ingress=[]))
    waits.poll("default-deny enforced", lambda: connects(scratch, ip), lambda ok: not ok, timeout=60, interval=2)

    scratch.create(objects.network_policy("allow-client", {"app": "server"}, ingress=[{
        "from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": 8080}]}]))
    waits.poll("allow policy re-opens the flow", lambda: connects(scratch, ip), lambda ok: ok, timeout=60, interval=2)

    scratch.sleeper("stranger", labels={"app": "stranger"})
    assert not scratch.can_connect("stranger", ip, 8080, timeout=2), "a pod the policy does not allow got through"


def test_egress_guard_rejects_pod_traffic_out_of_the_default_interface(target):
    if target.embedded is None:
        pytest.skip("the egress guard is part of the embedded node; other clusters bring their own egress controls")
    from ms5harness.cluster import network

    spec = target.embedded.spec
    rules = subprocess.run(["iptables", "-S", network.GUARD_CHAIN], capture_output=True, text=True).stdout
    for cidr in (spec.pod_cidr, spec.service_cidr):
        assert f"{cidr} -o {spec.egress_interface}" in rules and "REJECT" in rules, rules
    for parent in ("FORWARD", "OUTPUT"):
        hooks = subprocess.run(["iptables", "-S", parent], capture_output=True, text=True).stdout
        assert f"-j {network.GUARD_CHAIN}" in hooks, f"{parent} does not jump to the guard"


def test_cni_bridge_does_not_masquerade(target):
    if target.embedded is None:
        pytest.skip("inspects the embedded node's NAT table")
    nat = subprocess.run(["iptables", "-t", "nat", "-S", "POSTROUTING"], capture_output=True, text=True).stdout
    assert "CNI-" not in nat, "the CNI bridge plugin installed a masquerade chain"
